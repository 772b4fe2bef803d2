import type { Session } from '../api';
import { h, replace } from '../dom';
import { formatDateTime, formatNumber } from '../format';
import type { Screen } from '../screen';
import type { Shortcut } from '../shortcuts';
import { SCORE_HEADINGS, SCORE_NUMERIC, categoryTable, headings, scoreCard, scoreCells } from '../training/score-view';
import { type AnswerResult, type NextCase, type SessionSummary, trainingApi, trainingCaseBase } from '../training/training-api';
import { CaseWorkspace, type Decision, caseShortcuts } from '../workspace/case-workspace';

const OUTCOME_LABELS = { hit: 'Hit', miss: 'Miss', false_alarm: 'False alarm', correct_rejection: 'Correct rejection' } as const;
const OUTCOME_TEXT = {
  hit: 'You found the threat.',
  miss: 'The case held a threat that was not found.',
  false_alarm: 'The case was clean: it did not need stopping.',
  correct_rejection: 'The case was clean, and you cleared it.',
} as const;
/** A miss on inspect: the trainee stopped the case, but marked no region over the threat. */
const MISPLACED = 'You sent it to inspection, but none of your regions is on the threat.';
const STATUS_LABELS = { waiting: 'set in preparation', assigned: 'not started', in_progress: 'in progress', completed: 'completed' } as const;

/**
 * The trainee's screen: their training sessions (with the score of completed ones); a session shows its cases one by
 * one in the same workspace as the analyst's, under a TRAINING banner; practice mode shows the truth after each
 * answer, exam mode goes straight on; the end shows the session's score.
 */
export function traineeScreen(_session: Session): Screen {
  const element = h('main', { class: 'trainee' });
  let workspace: CaseWorkspace | null = null;
  /** After a practice answer: the Next button's action (key N). */
  let proceed: (() => void) | null = null;
  let stopped = false;

  function clear() {
    workspace?.destroy();
    workspace = null;
    proceed = null;
  }

  function fail(error: unknown) {
    list(error instanceof Error ? error.message : String(error));
  }

  async function list(message = '') {
    clear();
    const notice = message ? h('p', { class: 'notice warn', role: 'status' }, message) : null;
    const sessions = h('tbody', {}, h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'Loading…')));
    const results = h('tbody');
    replace(
      element,
      h(
        'div',
        { class: 'page' },
        h('div', { class: 'page-head' }, h('h1', {}, 'My training')),
        notice,
        h('section', {}, h('h2', {}, 'Sessions'), h('table', { class: 'grid', id: 'sessions' }, headings(['Set', 'Mode', 'Progress', 'Status', 'Assigned', ''], [2]), sessions)),
        h(
          'section',
          {},
          h('h2', {}, 'Results'),
          h('table', { class: 'grid', id: 'results' }, headings(['Set', 'Mode', 'Completed', ...SCORE_HEADINGS], SCORE_NUMERIC.map((column) => column + 3)), results),
        ),
      ),
    );
    let mine: SessionSummary[];
    try {
      mine = await trainingApi.mySessions();
    } catch (error) {
      replace(sessions, h('tr', {}, h('td', { colspan: 6, class: 'bad' }, `Cannot load the sessions: ${error instanceof Error ? error.message : String(error)}`)));
      return;
    }
    if (stopped) return;
    replace(
      sessions,
      mine.length ? null : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No training assigned to you yet.')),
      mine.map((session) => {
        const action =
          session.status === 'completed'
            ? h('button', { class: 'small', onclick: () => void summary(session.id) }, 'Summary')
            : h('button', { class: 'primary small open-session', disabled: session.status === 'waiting', onclick: () => void openSession(session.id) }, session.status === 'assigned' ? 'Start' : session.status === 'waiting' ? 'Not ready' : 'Continue');
        return h(
          'tr',
          { 'data-session': session.id, 'data-status': session.status },
          h('td', {}, session.setName),
          h('td', {}, h('span', { class: `badge mode-${session.mode}` }, session.mode)),
          h('td', { class: 'num', 'data-field': 'progress' }, progress(session.answered, session.total)),
          h('td', { 'data-field': 'status' }, STATUS_LABELS[session.status]),
          h('td', {}, formatDateTime(session.assignedAt)),
          h('td', {}, action),
        );
      }),
    );
    const completed = mine.filter((session) => session.status === 'completed');
    const scored = await Promise.all(completed.map((session) => trainingApi.session(session.id).catch(() => null)));
    if (stopped) return;
    replace(
      results,
      completed.length ? null : h('tr', {}, h('td', { colspan: SCORE_HEADINGS.length + 3, class: 'muted' }, 'No completed session yet.')),
      scored.map((own, position) => {
        const session = completed[position];
        return h(
          'tr',
          { 'data-session': session.id },
          h('td', {}, session.setName),
          h('td', {}, session.mode),
          h('td', {}, formatDateTime(session.completedAt)),
          own?.score ? scoreCells(own.score) : h('td', { colspan: SCORE_HEADINGS.length, class: 'muted' }, 'score not available'),
        );
      }),
    );
  }

  async function openSession(sessionId: string) {
    clear();
    let next: NextCase | null;
    try {
      next = await trainingApi.next(sessionId);
    } catch (error) {
      return fail(error);
    }
    if (stopped) return;
    if (!next) return summary(sessionId);
    show(sessionId, next);
  }

  function show(sessionId: string, next: NextCase) {
    clear();
    const { session, case: shown } = next;
    const label = `TRAINING — ${session.mode}`;
    workspace = new CaseWorkspace({
      imageBase: trainingCaseBase(shown.caseId),
      manifest: shown.manifest,
      metadata: shown.metadata,
      facts: { stationName: shown.stationName, riskScore: shown.riskScore },
      bar: [
        h('span', { class: `badge mode-${session.mode}` }, session.mode === 'exam' ? 'Exam' : 'Practice'),
        h('span', { id: 'case-position', 'data-position': shown.position, 'data-total': shown.total }, `Case ${formatNumber(shown.position)} / ${formatNumber(shown.total)}`),
        h('span', { class: 'muted' }, session.setName),
        h('span', { class: `badge risk ${shown.riskScore >= 70 ? 'high' : shown.riskScore >= 40 ? 'mid' : 'low'}` }, `Risk ${formatNumber(shown.riskScore)}`),
        shown.stationName === null ? null : h('span', {}, shown.stationName),
        h('span', { class: 'spacer' }),
        h('button', { class: 'ghost', onclick: () => void list() }, 'Back to my sessions'),
      ],
      data: { 'training-case': shown.caseId, session: sessionId, mode: session.mode },
      commentPlaceholder: 'Note (optional)',
      refusal: 'The answer was refused',
      onDecide: async (decision, answer) => {
        const result = await trainingApi.answer(sessionId, shown.caseId, { decision, regions: answer.regions, note: answer.comment });
        if (result.feedback) feedback(sessionId, decision, result);
        else await openSession(sessionId);
      },
    });
    replace(
      element,
      h(
        'div',
        { class: 'training-case' },
        h('div', { class: `training-banner mode-${session.mode}`, 'data-testid': 'training-banner', role: 'note' }, h('strong', {}, label), h('span', {}, `${session.setName} · case ${formatNumber(shown.position)} of ${formatNumber(shown.total)}`)),
        workspace.element,
      ),
    );
  }

  /** Practice mode: how the answer scored, the truth outlined on the image, and the way on. */
  function feedback(sessionId: string, decision: Decision, result: AnswerResult) {
    const truth = result.feedback!;
    workspace?.showTruth(truth.regions);
    const last = result.remaining === 0;
    proceed = () => {
      proceed = null;
      void openSession(sessionId);
    };
    const categories = truth.categories.map((category) => category.replace('_', ' ')).join(', ');
    replace(
      workspace!.slot,
      h(
        'div',
        { class: `training-feedback outcome-${truth.outcome}`, 'data-outcome': truth.outcome, role: 'status' },
        h('h3', {}, OUTCOME_LABELS[truth.outcome]),
        h('p', {}, `You answered ${decision}. ${truth.outcome === 'miss' && decision === 'inspect' ? MISPLACED : OUTCOME_TEXT[truth.outcome]}`),
        h('p', {}, truth.threat ? `This case held a threat${categories ? `: ${categories}` : ''}.` : 'This case held no threat.'),
        truth.regions.length ? h('p', { class: 'muted' }, `Where it is: ${formatNumber(truth.regions.length)} region(s) outlined in cyan on the image.`) : null,
        h('button', { class: 'primary', id: 'next-training-case', onclick: () => proceed?.() }, last ? 'See the summary ' : 'Next case ', h('kbd', {}, 'N')),
      ),
    );
  }

  async function summary(sessionId: string) {
    clear();
    let own;
    try {
      own = await trainingApi.session(sessionId);
    } catch (error) {
      return fail(error);
    }
    if (stopped) return;
    replace(
      element,
      h(
        'div',
        { class: 'page', id: 'session-summary', 'data-session': sessionId, 'data-status': own.status },
        h('div', { class: 'page-head' }, h('h1', {}, own.status === 'completed' ? `Session complete: ${own.setName}` : own.setName), h('span', { class: `badge mode-${own.mode}` }, own.mode), h('span', { class: 'spacer' }), h('button', { onclick: () => void list() }, 'Back to my sessions')),
        h('p', { class: 'muted' }, `${formatNumber(own.answered)} of ${formatNumber(own.total)} cases answered · completed ${formatDateTime(own.completedAt)}`),
        own.score ? scoreCard(own.score) : h('p', { class: 'muted' }, 'The score shows once every case is answered.'),
        own.score ? h('section', {}, h('h2', {}, 'By category'), categoryTable(own.byCategory)) : null,
      ),
    );
  }

  const shortcuts: Shortcut[] = [
    ...caseShortcuts(() => workspace),
    { key: 'n', label: 'Next case (after the feedback of a practice case)', run: () => proceed?.() },
  ];

  void list();
  return {
    element,
    shortcuts,
    destroy() {
      stopped = true;
      clear();
    },
  };
}

function progress(answered: number, total: number): HTMLElement {
  return h(
    'span',
    { class: 'progress', title: `${answered} of ${total} answered` },
    h('span', { class: 'progress-bar' }, h('span', { style: `width:${total ? Math.round((answered / total) * 100) : 0}%` })),
    ` ${formatNumber(answered)} / ${formatNumber(total)}`,
  );
}
