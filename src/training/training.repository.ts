import { Inject, Injectable } from '@nestjs/common';
import { and, arrayContains, asc, count, desc, eq, inArray, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/database.js';
import {
  auditEvents,
  outcomes,
  scans,
  stations,
  threatItems,
  trainingAnswers,
  trainingCases,
  trainingSessions,
  trainingSets,
  users,
  verdicts,
} from '../database/schema.js';

export type ThreatItemRow = typeof threatItems.$inferSelect;
export type TrainingSetRow = typeof trainingSets.$inferSelect;
export type TrainingCaseRow = typeof trainingCases.$inferSelect;
export type TrainingSessionRow = typeof trainingSessions.$inferSelect;
export type TrainingAnswerRow = typeof trainingAnswers.$inferSelect;

/** A decided live scan with its final verdict and the station's outcome (null when none was reported). */
export interface ArchivedScanRow {
  scan: typeof scans.$inferSelect;
  stationName: string;
  verdict: typeof verdicts.$inferSelect;
  outcome: typeof outcomes.$inferSelect | null;
}

export interface ArchiveFilter {
  stationId?: string;
  vendor?: string;
  from?: Date;
  to?: Date;
  decision?: string;
  outcome?: 'found' | 'clean' | 'unknown';
  category?: string;
  before?: { decidedAt: Date; scanId: string };
  limit: number;
}

/** An answered case with what scoring needs. */
export interface AnsweredRow {
  sessionId: string;
  setId: string;
  setName: string;
  mode: 'exam' | 'practice';
  traineeId: string;
  trainee: string;
  completedAt: Date | null;
  caseId: string;
  position: number;
  kind: 'archived' | 'projected';
  threat: boolean;
  categories: string[];
  decision: string;
  outcome: string;
  shownAt: Date;
  answeredAt: Date;
}

/**
 * An archived scan as one trainee meets it in one case of one set: `itself` (an archived case, shown as it was) or
 * `background` (the clean scan a threat was projected into).
 */
export interface ArchivedScanUseRow {
  traineeId: string;
  trainee: string;
  setId: string;
  setName: string;
  setStatus: string;
  caseId: string;
  archivedScanId: string;
  role: 'itself' | 'background';
  threat: boolean;
}

/** Checked inside the transaction that assigns sets, with what the trainees already have (see insertSet). */
export type AssignmentGuard = (existing: ArchivedScanUseRow[]) => void;

/** Key of the advisory lock that serialises assigning sets to trainees (so two assignments cannot pass a guard side by side). */
const TRAINING_ASSIGNMENT_LOCK = 0x74726e67; // "trng"

/** The final verdict of a scan: the latest one (the second opinion under four-eyes review). */
const isFinalVerdict = sql`not exists (select 1 from ${verdicts} later where later.scan_id = ${verdicts.scanId} and later.decided_at > ${verdicts.decidedAt})`;

/** Threat library, training sets with their cases, trainees' sessions and answers; no rules here. */
@Injectable()
export class TrainingRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  // ---- archive ----

  async archive(filter: ArchiveFilter): Promise<ArchivedScanRow[]> {
    const conditions: (SQL | undefined)[] = [];
    if (filter.stationId) conditions.push(eq(scans.stationId, filter.stationId));
    if (filter.vendor) conditions.push(sql`lower(${scans.manifest}->'scanner'->>'vendor') = lower(${filter.vendor})`);
    if (filter.from) conditions.push(sql`${scans.decidedAt} >= ${filter.from.toISOString()}`);
    if (filter.to) conditions.push(lt(scans.decidedAt, filter.to));
    if (filter.decision) conditions.push(eq(verdicts.decision, filter.decision as 'clear'));
    if (filter.outcome === 'found') conditions.push(eq(outcomes.found, true));
    if (filter.outcome === 'clean') conditions.push(eq(outcomes.found, false));
    if (filter.outcome === 'unknown') conditions.push(isNull(outcomes.scanId));
    if (filter.category) {
      conditions.push(
        or(arrayContains(outcomes.categories, [filter.category]), sql`${verdicts.regions} @> ${JSON.stringify([{ category: filter.category }])}::jsonb`),
      );
    }
    if (filter.before) {
      const { decidedAt, scanId } = filter.before;
      conditions.push(or(lt(scans.decidedAt, decidedAt), and(eq(scans.decidedAt, decidedAt), lt(scans.id, scanId))));
    }
    return this.archived(conditions).orderBy(desc(scans.decidedAt), desc(scans.id)).limit(filter.limit);
  }

  /** The archived scans among `ids` (decided live scans with their final verdict), whatever their outcome. */
  async archivedScans(ids: string[]): Promise<ArchivedScanRow[]> {
    if (ids.length === 0) return [];
    return this.archived([inArray(scans.id, ids)]);
  }

  /** Decided live scans with their station, final verdict and outcome (null when none was reported), narrowed by `conditions`. */
  private archived(conditions: (SQL | undefined)[]) {
    return this.database.db
      .select({ scan: scans, stationName: stations.name, verdict: verdicts, outcome: outcomes })
      .from(scans)
      .innerJoin(stations, eq(stations.id, scans.stationId))
      .innerJoin(verdicts, eq(verdicts.scanId, scans.id))
      .leftJoin(outcomes, eq(outcomes.scanId, scans.id))
      .where(and(eq(scans.purpose, 'live'), eq(scans.status, 'decided'), isFinalVerdict, ...conditions))
      .$dynamic();
  }

  // ---- threat library ----

  async threatItems(includeRetired: boolean): Promise<ThreatItemRow[]> {
    return this.database.db
      .select()
      .from(threatItems)
      .where(includeRetired ? undefined : isNull(threatItems.retiredAt))
      .orderBy(asc(threatItems.category), asc(threatItems.name));
  }

  async threatItem(id: string): Promise<ThreatItemRow | undefined> {
    return (await this.database.db.select().from(threatItems).where(eq(threatItems.id, id)))[0];
  }

  async threatItemsByIds(ids: string[]): Promise<ThreatItemRow[]> {
    if (ids.length === 0) return [];
    return this.database.db.select().from(threatItems).where(inArray(threatItems.id, ids));
  }

  async starterKeys(): Promise<Set<string>> {
    const rows = await this.database.db.select({ key: threatItems.starterKey }).from(threatItems).where(isNotNull(threatItems.starterKey));
    return new Set(rows.map((row) => row.key!));
  }

  /** False when a starter item with the same key exists already (another instance made it). */
  async insertThreatItem(item: typeof threatItems.$inferInsert): Promise<boolean> {
    const rows = await this.database.db.insert(threatItems).values(item).onConflictDoNothing().returning({ id: threatItems.id });
    return rows.length === 1;
  }

  async setRetired(id: string, retiredAt: Date | null): Promise<ThreatItemRow | undefined> {
    return (await this.database.db.update(threatItems).set({ retiredAt }).where(eq(threatItems.id, id)).returning())[0];
  }

  // ---- sets and cases ----

  /**
   * A set with its cases, the training-only scans of its projections and its sessions, in one transaction. With
   * sessions, `guard` is called first with the archived scans the trainees already meet in other sets, under a lock
   * that every assignment takes: a guard that throws leaves nothing written, and two assignments cannot both pass.
   */
  async insertSet(
    set: typeof trainingSets.$inferInsert,
    trainingScans: (typeof scans.$inferInsert)[],
    cases: (typeof trainingCases.$inferInsert)[],
    sessions: (typeof trainingSessions.$inferInsert)[],
    audit: typeof auditEvents.$inferInsert,
    guard?: AssignmentGuard,
  ): Promise<void> {
    await this.database.db.transaction(async (tx) => {
      if (sessions.length) await this.guarded(tx, sessions, guard);
      await tx.insert(trainingSets).values(set);
      if (trainingScans.length) await tx.insert(scans).values(trainingScans);
      await tx.insert(trainingCases).values(cases);
      if (sessions.length) await tx.insert(trainingSessions).values(sessions);
      await tx.insert(auditEvents).values(audit);
    });
  }

  async sets(): Promise<TrainingSetRow[]> {
    return this.database.db.select().from(trainingSets).orderBy(desc(trainingSets.createdAt));
  }

  async set(id: string): Promise<TrainingSetRow | undefined> {
    return (await this.database.db.select().from(trainingSets).where(eq(trainingSets.id, id)))[0];
  }

  async casesOf(setIds: string[]): Promise<TrainingCaseRow[]> {
    if (setIds.length === 0) return [];
    return this.database.db.select().from(trainingCases).where(inArray(trainingCases.setId, setIds)).orderBy(asc(trainingCases.position));
  }

  async trainingCase(id: string): Promise<TrainingCaseRow | undefined> {
    return (await this.database.db.select().from(trainingCases).where(eq(trainingCases.id, id)))[0];
  }

  async caseOfScan(scanId: string): Promise<TrainingCaseRow | undefined> {
    return (await this.database.db.select().from(trainingCases).where(and(eq(trainingCases.scanId, scanId), eq(trainingCases.kind, 'projected'))))[0];
  }

  async updateCase(id: string, patch: Partial<Pick<TrainingCaseRow, 'regions' | 'status'>>): Promise<void> {
    await this.database.db.update(trainingCases).set(patch).where(eq(trainingCases.id, id));
  }

  /** Marks the set ready when none of its cases is still preparing or failed; true when it changed now. */
  async readyIfComplete(setId: string, at: Date): Promise<boolean> {
    const rows = await this.database.db
      .update(trainingSets)
      .set({ status: 'ready', readyAt: at })
      .where(
        and(
          eq(trainingSets.id, setId),
          eq(trainingSets.status, 'preparing'),
          sql`not exists (select 1 from ${trainingCases} where ${trainingCases.setId} = ${setId} and ${trainingCases.status} <> 'ready')`,
        ),
      )
      .returning({ id: trainingSets.id });
    return rows.length === 1;
  }

  /**
   * Deletes a set nobody has answered yet, with its cases, sessions and training-only scans, in one transaction;
   * the ids of those scans (their objects are the caller's to delete), or null when an answer exists.
   */
  async deleteUnansweredSet(setId: string): Promise<string[] | null> {
    return this.database.db.transaction(async (tx) => {
      const answered = await tx
        .select({ caseId: trainingAnswers.caseId })
        .from(trainingAnswers)
        .innerJoin(trainingSessions, eq(trainingSessions.id, trainingAnswers.sessionId))
        .where(and(eq(trainingSessions.setId, setId), isNotNull(trainingAnswers.answeredAt)))
        .limit(1);
      if (answered.length) return null;
      const projected = await tx
        .select({ scanId: trainingCases.scanId })
        .from(trainingCases)
        .where(and(eq(trainingCases.setId, setId), eq(trainingCases.kind, 'projected')));
      await tx.delete(trainingSets).where(eq(trainingSets.id, setId));
      const ids = projected.map((row) => row.scanId);
      if (ids.length) await tx.delete(scans).where(and(inArray(scans.id, ids), eq(scans.purpose, 'training')));
      return ids;
    });
  }

  async failSet(setId: string, message: string): Promise<void> {
    await this.database.db
      .update(trainingSets)
      .set({ status: 'failed', failureMessage: message })
      .where(and(eq(trainingSets.id, setId), eq(trainingSets.status, 'preparing')));
  }

  /** Training scans still being made (after a restart their jobs are put back). */
  async preparingScanIds(): Promise<string[]> {
    const rows = await this.database.db
      .select({ id: scans.id })
      .from(scans)
      .where(and(eq(scans.purpose, 'training'), eq(scans.status, 'preparing')));
    return rows.map((row) => row.id);
  }

  async preparingSetIds(): Promise<string[]> {
    return (await this.database.db.select({ id: trainingSets.id }).from(trainingSets).where(eq(trainingSets.status, 'preparing'))).map((row) => row.id);
  }

  // ---- sessions and answers ----

  /** Sessions of a set (a trainee who has one keeps it), after `guard` under the assignment lock as in insertSet. */
  async insertSessions(sessions: (typeof trainingSessions.$inferInsert)[], guard?: AssignmentGuard): Promise<void> {
    if (sessions.length === 0) return;
    await this.database.db.transaction(async (tx) => {
      await this.guarded(tx, sessions, guard);
      await tx.insert(trainingSessions).values(sessions).onConflictDoNothing();
    });
  }

  /** Every case of every set assigned to these trainees, as the archived scan it shows or was made from. */
  async archivedScanUses(traineeIds: string[], tx: Pick<Database['db'], 'select'> = this.database.db): Promise<ArchivedScanUseRow[]> {
    if (traineeIds.length === 0) return [];
    const rows = await tx
      .select({
        traineeId: trainingSessions.traineeId,
        trainee: users.username,
        setId: trainingSets.id,
        setName: trainingSets.name,
        setStatus: trainingSets.status,
        caseId: trainingCases.id,
        kind: trainingCases.kind,
        scanId: trainingCases.scanId,
        sourceScanId: trainingCases.sourceScanId,
        threat: trainingCases.threat,
      })
      .from(trainingSessions)
      .innerJoin(users, eq(users.id, trainingSessions.traineeId))
      .innerJoin(trainingSets, eq(trainingSets.id, trainingSessions.setId))
      .innerJoin(trainingCases, eq(trainingCases.setId, trainingSessions.setId))
      .where(inArray(trainingSessions.traineeId, traineeIds))
      .orderBy(asc(trainingSessions.assignedAt), asc(trainingCases.position));
    return rows.map(({ kind, scanId, sourceScanId, ...row }) => ({
      ...row,
      archivedScanId: kind === 'projected' ? sourceScanId! : scanId,
      role: kind === 'projected' ? ('background' as const) : ('itself' as const),
    }));
  }

  private async guarded(tx: Parameters<Parameters<Database['db']['transaction']>[0]>[0], sessions: (typeof trainingSessions.$inferInsert)[], guard?: AssignmentGuard): Promise<void> {
    if (!guard) return;
    await tx.execute(sql`select pg_advisory_xact_lock(${TRAINING_ASSIGNMENT_LOCK})`);
    guard(await this.archivedScanUses([...new Set(sessions.map((session) => session.traineeId))], tx));
  }

  async sessionsWithTrainee(where: { setIds?: string[]; traineeId?: string }): Promise<(TrainingSessionRow & { trainee: string; setName: string; mode: 'exam' | 'practice'; setStatus: string; answered: number })[]> {
    const conditions: SQL[] = [];
    if (where.setIds) conditions.push(where.setIds.length ? inArray(trainingSessions.setId, where.setIds) : sql`false`);
    if (where.traineeId) conditions.push(eq(trainingSessions.traineeId, where.traineeId));
    const answered = this.database.db
      .select({ sessionId: trainingAnswers.sessionId, answered: count().as('answered') })
      .from(trainingAnswers)
      .where(isNotNull(trainingAnswers.answeredAt))
      .groupBy(trainingAnswers.sessionId)
      .as('answered_counts');
    const rows = await this.database.db
      .select({ session: trainingSessions, trainee: users.username, setName: trainingSets.name, mode: trainingSets.mode, setStatus: trainingSets.status, answered: answered.answered })
      .from(trainingSessions)
      .innerJoin(users, eq(users.id, trainingSessions.traineeId))
      .innerJoin(trainingSets, eq(trainingSets.id, trainingSessions.setId))
      .leftJoin(answered, eq(answered.sessionId, trainingSessions.id))
      .where(and(...conditions))
      .orderBy(asc(trainingSessions.assignedAt), asc(users.username));
    return rows.map((row) => ({ ...row.session, trainee: row.trainee, setName: row.setName, mode: row.mode, setStatus: row.setStatus, answered: Number(row.answered ?? 0) }));
  }

  async session(id: string): Promise<TrainingSessionRow | undefined> {
    return (await this.database.db.select().from(trainingSessions).where(eq(trainingSessions.id, id)))[0];
  }

  async sessionOf(setId: string, traineeId: string): Promise<TrainingSessionRow | undefined> {
    return (
      await this.database.db
        .select()
        .from(trainingSessions)
        .where(and(eq(trainingSessions.setId, setId), eq(trainingSessions.traineeId, traineeId)))
    )[0];
  }

  async startSession(id: string, at: Date): Promise<void> {
    await this.database.db.update(trainingSessions).set({ startedAt: at }).where(and(eq(trainingSessions.id, id), isNull(trainingSessions.startedAt)));
  }

  async completeSession(id: string, at: Date): Promise<void> {
    await this.database.db.update(trainingSessions).set({ completedAt: at }).where(and(eq(trainingSessions.id, id), isNull(trainingSessions.completedAt)));
  }

  async answersOf(sessionId: string): Promise<TrainingAnswerRow[]> {
    return this.database.db.select().from(trainingAnswers).where(eq(trainingAnswers.sessionId, sessionId)).orderBy(asc(trainingAnswers.position));
  }

  async answer(sessionId: string, caseId: string): Promise<TrainingAnswerRow | undefined> {
    return (
      await this.database.db
        .select()
        .from(trainingAnswers)
        .where(and(eq(trainingAnswers.sessionId, sessionId), eq(trainingAnswers.caseId, caseId)))
    )[0];
  }

  /** Records that a case was shown; the first showing counts (a reload does not restart the clock). */
  async markShown(row: Pick<TrainingAnswerRow, 'sessionId' | 'caseId' | 'position' | 'shownAt'>): Promise<TrainingAnswerRow> {
    await this.database.db.insert(trainingAnswers).values(row).onConflictDoNothing();
    return (await this.answer(row.sessionId, row.caseId))!;
  }

  /** Records the answer once; false when the case was answered already. */
  async recordAnswer(
    sessionId: string,
    caseId: string,
    answer: Pick<TrainingAnswerRow, 'answeredAt' | 'decision' | 'regions' | 'note' | 'outcome'>,
  ): Promise<boolean> {
    const rows = await this.database.db
      .update(trainingAnswers)
      .set(answer)
      .where(and(eq(trainingAnswers.sessionId, sessionId), eq(trainingAnswers.caseId, caseId), isNull(trainingAnswers.answeredAt)))
      .returning({ caseId: trainingAnswers.caseId });
    return rows.length === 1;
  }

  /** Answered cases, for scoring: of some sets, of one trainee, or of one session. */
  async answered(where: { setIds?: string[]; traineeId?: string; sessionId?: string }): Promise<AnsweredRow[]> {
    const conditions: SQL[] = [isNotNull(trainingAnswers.answeredAt)];
    if (where.setIds) conditions.push(where.setIds.length ? inArray(trainingSessions.setId, where.setIds) : sql`false`);
    if (where.traineeId) conditions.push(eq(trainingSessions.traineeId, where.traineeId));
    if (where.sessionId) conditions.push(eq(trainingSessions.id, where.sessionId));
    const rows = await this.database.db
      .select({
        sessionId: trainingSessions.id,
        setId: trainingSets.id,
        setName: trainingSets.name,
        mode: trainingSets.mode,
        traineeId: trainingSessions.traineeId,
        trainee: users.username,
        completedAt: trainingSessions.completedAt,
        caseId: trainingCases.id,
        position: trainingAnswers.position,
        kind: trainingCases.kind,
        threat: trainingCases.threat,
        categories: trainingCases.categories,
        decision: trainingAnswers.decision,
        outcome: trainingAnswers.outcome,
        shownAt: trainingAnswers.shownAt,
        answeredAt: trainingAnswers.answeredAt,
      })
      .from(trainingAnswers)
      .innerJoin(trainingSessions, eq(trainingSessions.id, trainingAnswers.sessionId))
      .innerJoin(trainingSets, eq(trainingSets.id, trainingSessions.setId))
      .innerJoin(trainingCases, eq(trainingCases.id, trainingAnswers.caseId))
      .innerJoin(users, eq(users.id, trainingSessions.traineeId))
      .where(and(...conditions))
      .orderBy(asc(trainingSessions.completedAt), asc(trainingSessions.id), asc(trainingAnswers.position));
    return rows as AnsweredRow[];
  }

  // ---- people ----

  async trainees(): Promise<{ id: string; username: string; roles: string[] }[]> {
    return this.database.db
      .select({ id: users.id, username: users.username, roles: users.roles })
      .from(users)
      .where(arrayContains(users.roles, ['trainee']))
      .orderBy(asc(users.username));
  }
}
