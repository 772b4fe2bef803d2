import { Injectable } from '@nestjs/common';
import type { ThreatCategory } from '../../libs/exchange-format/src/verdict.js';
import { ApiError } from '../common/api-error.js';
import { type AnswerOutcome, type ScoredAnswer, score, scoreByCategory, toCsv } from './scoring.js';
import type { SessionScore } from './training.contract.js';
import { type AnsweredRow, TrainingRepository } from './training.repository.js';

function scored(row: AnsweredRow): ScoredAnswer {
  return { outcome: row.outcome as AnswerOutcome, categories: row.categories as ThreatCategory[], durationMs: row.answeredAt.getTime() - row.shownAt.getTime() };
}

function figures(rows: AnsweredRow[]) {
  const answers = rows.map(scored);
  return { overall: score(answers), byCategory: scoreByCategory(answers) };
}

/** Per session, in the order the sessions were completed (unfinished ones last). */
function bySession(rows: AnsweredRow[]): SessionScore[] {
  const sessions = new Map<string, AnsweredRow[]>();
  for (const row of rows) sessions.set(row.sessionId, [...(sessions.get(row.sessionId) ?? []), row]);
  return [...sessions.values()].map((answers) => {
    const first = answers[0];
    const { overall, byCategory } = figures(answers);
    return {
      sessionId: first.sessionId,
      setId: first.setId,
      setName: first.setName,
      mode: first.mode,
      traineeId: first.traineeId,
      trainee: first.trainee,
      completedAt: first.completedAt?.toISOString() ?? null,
      score: overall,
      byCategory,
    };
  });
}

/**
 * Scores for trainers: per session, per set, per trainee over time, from the answers recorded. Every figure
 * carries the number of threat events behind it and whether that is enough (100) for a reliable score.
 */
@Injectable()
export class TrainingScoresService {
  constructor(private readonly training: TrainingRepository) {}

  async ofSet(setId: string) {
    const set = /^[0-9a-f-]{36}$/.test(setId) ? await this.training.set(setId) : undefined;
    if (!set) throw ApiError.notFound('training_set_not_found', `no training set ${setId}`);
    const rows = await this.training.answered({ setIds: [set.id] });
    return { setId: set.id, setName: set.name, sessions: bySession(rows), ...figures(rows) };
  }

  async ofTrainee(traineeId: string) {
    const trainee = /^[0-9a-f-]{36}$/.test(traineeId) ? (await this.training.trainees()).find((candidate) => candidate.id === traineeId) : undefined;
    if (!trainee) throw ApiError.notFound('trainee_not_found', `no trainee ${traineeId}`);
    const rows = await this.training.answered({ traineeId: trainee.id });
    const completed = rows.filter((row) => row.completedAt);
    return { traineeId: trainee.id, trainee: trainee.username, sessions: bySession(completed), ...figures(completed) };
  }

  /** One session's score (its trainee sees it once the session is completed). */
  async ofSession(sessionId: string) {
    return figures(await this.training.answered({ sessionId }));
  }

  /** Every trainee with completed sessions, oldest session first: the trainer dashboard's figures and charts. */
  async trainees() {
    const trainees = await this.training.trainees();
    return Promise.all(trainees.map((trainee) => this.ofTrainee(trainee.id)));
  }

  /** Every answer of a set, one row per answer, for spreadsheets. */
  async setAnswersCsv(setId: string): Promise<string> {
    const { setName } = await this.ofSet(setId);
    const rows = (await this.training.answered({ setIds: [setId] })).map((row) => ({
      set: setName,
      trainee: row.trainee,
      session: row.sessionId,
      position: row.position + 1,
      caseId: row.caseId,
      kind: row.kind,
      threat: row.threat,
      categories: row.categories.join(' '),
      decision: row.decision,
      outcome: row.outcome,
      shownAt: row.shownAt,
      answeredAt: row.answeredAt,
      durationMs: row.answeredAt.getTime() - row.shownAt.getTime(),
    }));
    return toCsv(
      [
        ['set', 'set'],
        ['trainee', 'trainee'],
        ['session', 'session'],
        ['position', 'position'],
        ['case', 'caseId'],
        ['kind', 'kind'],
        ['threat', 'threat'],
        ['categories', 'categories'],
        ['decision', 'decision'],
        ['outcome', 'outcome'],
        ['shown_at', 'shownAt'],
        ['answered_at', 'answeredAt'],
        ['duration_ms', 'durationMs'],
      ],
      rows,
    );
  }

  /** A trainee's completed sessions over time, one row per session. */
  async traineeScoresCsv(traineeId: string): Promise<string> {
    const { trainee, sessions } = await this.ofTrainee(traineeId);
    const rows = sessions.map((session) => ({ trainee, set: session.setName, mode: session.mode, completedAt: session.completedAt, ...session.score }));
    return toCsv(
      [
        ['trainee', 'trainee'],
        ['set', 'set'],
        ['mode', 'mode'],
        ['completed_at', 'completedAt'],
        ['threat_events', 'threatEvents'],
        ['clean_events', 'cleanEvents'],
        ['hits', 'hits'],
        ['misses', 'misses'],
        ['false_alarms', 'falseAlarms'],
        ['correct_rejections', 'correctRejections'],
        ['hit_rate', 'hitRate'],
        ['false_alarm_rate', 'falseAlarmRate'],
        ['d_prime', 'dPrime'],
        ['a_prime', 'aPrime'],
        ['rates_corrected', 'corrected'],
        ['mean_decision_ms', 'meanDecisionMs'],
        ['reliable', 'reliable'],
      ],
      rows,
    );
  }
}
