import { Injectable } from '@nestjs/common';
import type { ThreatCategory } from '../../libs/exchange-format/src/verdict.js';
import { ApiError } from '../common/api-error.js';
import { type AnswerOutcome, type ScoredAnswer, score, scoreByCategory, toCsv } from './scoring.js';
import type { SessionScore } from './training.contract.js';
import { type AnsweredRow, TrainingRepository } from './training.repository.js';
import { isUuid } from '../common/ids.js';

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

/** A trainee over time: only completed sessions count (an unfinished one would skew the figures). */
function traineeFigures(trainee: { id: string; username: string }, rows: AnsweredRow[]) {
  const completed = rows.filter((row) => row.completedAt);
  return { traineeId: trainee.id, trainee: trainee.username, sessions: bySession(completed), ...figures(completed) };
}

/**
 * Scores for trainers: per session, per set, per trainee over time, from the answers recorded. Every figure
 * carries the number of threat events behind it and whether that is enough (100) for a reliable score.
 */
@Injectable()
export class TrainingScoresService {
  constructor(private readonly training: TrainingRepository) {}

  async ofSet(setId: string) {
    const set = isUuid(setId) ? await this.training.set(setId) : undefined;
    if (!set) throw ApiError.notFound('training_set_not_found', `no training set ${setId}`);
    const rows = await this.training.answered({ setIds: [set.id] });
    return { setId: set.id, setName: set.name, sessions: bySession(rows), ...figures(rows) };
  }

  async ofTrainee(traineeId: string) {
    const trainee = isUuid(traineeId) ? (await this.training.trainees()).find((candidate) => candidate.id === traineeId) : undefined;
    if (!trainee) throw ApiError.notFound('trainee_not_found', `no trainee ${traineeId}`);
    return traineeFigures(trainee, await this.training.answered({ traineeId: trainee.id }));
  }

  /** One session's score (its trainee sees it once the session is completed). */
  async ofSession(sessionId: string) {
    return figures(await this.training.answered({ sessionId }));
  }

  /** Every trainee with completed sessions, oldest session first: the trainer dashboard's figures and charts. */
  async trainees() {
    const [trainees, answered] = await Promise.all([this.training.trainees(), this.training.answered({})]);
    return trainees.map((trainee) => traineeFigures(trainee, answered.filter((row) => row.traineeId === trainee.id)));
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
