import { h } from '../dom';
import { formatDateTime, formatNumber } from '../format';
import { authorizedImage } from '../media';
import { viewPath } from '../viewer';
import { SCORE_HEADINGS, SCORE_NUMERIC, headings, scoreCells } from './score-view';
import { type SessionScore, type SessionSummary, type SetDetail, trainingCaseBase } from './training-api';

const SESSION_STATUS = { waiting: 'waiting for the set', assigned: 'assigned', in_progress: 'in progress', completed: 'completed' } as const;

/** The sessions of a set: trainee, status, progress, and (when scores are given) the score of completed ones. */
export function sessionTable(sessions: SessionSummary[], scores?: SessionScore[]): HTMLTableElement {
  const byId = new Map((scores ?? []).map((score) => [score.sessionId, score]));
  const scoreColumns = scores ? SCORE_HEADINGS : [];
  return h(
    'table',
    { class: 'grid sessions' },
    headings(['Trainee', 'Status', 'Answered', 'Completed', ...scoreColumns], [2, ...(scores ? SCORE_NUMERIC.map((column) => column + 4) : [])]),
    h(
      'tbody',
      {},
      sessions.length ? null : h('tr', {}, h('td', { colspan: scoreColumns.length + 4, class: 'muted' }, 'Not assigned to anyone yet.')),
      sessions.map((session) => {
        const score = byId.get(session.id);
        return h(
          'tr',
          { 'data-session': session.id, 'data-trainee': session.trainee, 'data-status': session.status },
          h('td', {}, session.trainee),
          h('td', {}, SESSION_STATUS[session.status]),
          h('td', { class: 'num' }, `${formatNumber(session.answered)} / ${formatNumber(session.total)}`),
          h('td', {}, formatDateTime(session.completedAt)),
          scores ? (score ? scoreCells(score.score) : h('td', { colspan: scoreColumns.length })) : null,
        );
      }),
    ),
  );
}

/** What a set holds and how far its preparation is: counts, cases ready n/N, a strip of its cases once ready. */
export function setOverview(set: SetDetail): HTMLElement {
  const { cases } = set;
  const ready = set.caseList.filter((item) => item.status === 'ready').slice(0, 16);
  return h(
    'div',
    { class: 'set-overview', 'data-set': set.id, 'data-status': set.status },
    h(
      'div',
      { class: 'page-head' },
      h('h3', {}, set.name),
      h('span', { class: `badge mode-${set.mode}` }, set.mode),
      h('span', { class: `badge status-${set.status}`, 'data-field': 'status' }, set.status),
      set.hideIdentity ? h('span', { class: 'muted' }, 'identities hidden') : null,
    ),
    h(
      'p',
      {},
      h('span', { id: 'cases-ready', 'data-ready': cases.ready, 'data-total': cases.total }, `Cases ready ${formatNumber(cases.ready)} / ${formatNumber(cases.total)}`),
      ` · ${formatNumber(cases.threats)} threat case(s), ${formatNumber(cases.projected)} with a projected threat, ${formatNumber(cases.archived)} archived as they were`,
      set.readyAt ? ` · ready ${formatDateTime(set.readyAt)}` : '',
    ),
    set.status === 'preparing' ? h('progress', { max: Math.max(1, cases.total), value: cases.ready }) : null,
    set.failureMessage ? h('p', { class: 'notice warn' }, set.failureMessage) : null,
    ready.length
      ? h(
          'div',
          { class: 'case-strip' },
          ready.map((item) => {
            const view = item.views.find((candidate) => candidate.id === 'top') ?? item.views[0];
            const label = `${formatNumber(item.position + 1)} · ${item.kind === 'projected' ? 'projected' : 'archived'}${item.threat ? ` · ${item.categories.map((category) => category.replace('_', ' ')).join(', ') || 'threat'}` : ' · clean'}`;
            return h(
              'figure',
              { class: `case-thumb${item.threat ? ' threat' : ''}`, 'data-case': item.id, 'data-kind': item.kind },
              view ? authorizedImage(`${viewPath(trainingCaseBase(item.id), view.id)}/thumbnail`, { alt: `case ${item.position + 1}`, class: 'thumb' }) : null,
              h('figcaption', {}, label),
            );
          }),
        )
      : null,
  );
}
