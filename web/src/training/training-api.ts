import { type Paths, api, call } from '../api';

/** The training API (trainers and trainees), typed from the generated client; the types below follow its answers. */
type Id = string;
type JsonBody<P extends keyof Paths> = Paths[P] extends { post: { requestBody?: { content: { 'application/json': infer B } } } } ? B : never;
export type CreateSet = JsonBody<'/api/v1/training/sets'>;
export type AnswerBody = JsonBody<'/api/v1/training/sessions/{id}/cases/{caseId}/answer'>;

/** The archive's filters (query strings: station id, vendor, from/to ISO instants, decision, outcome, category, limit, before). */
export type ArchiveFilter = NonNullable<Paths['/api/v1/training/archive']['get']['parameters']['query']>;

export const trainingApi = {
  archive: (query: ArchiveFilter) => call(api.GET('/api/v1/training/archive', { params: { query } })),
  threatItems: () => call(api.GET('/api/v1/training/threat-items', { params: { query: { includeRetired: 'true' } } })),
  uploadThreatItem: (form: FormData) => call(api.POST('/api/v1/training/threat-items', { body: form as never, bodySerializer: (body: unknown) => body as FormData })),
  setRetired: (id: Id, retired: boolean) => call(api.PATCH('/api/v1/training/threat-items/{id}', { params: { path: { id } }, body: { retired } })),
  trainees: () => call(api.GET('/api/v1/training/trainees', {})),
  createSet: (body: CreateSet) => call(api.POST('/api/v1/training/sets', { body })),
  sets: () => call(api.GET('/api/v1/training/sets', {})),
  set: (id: Id) => call(api.GET('/api/v1/training/sets/{id}', { params: { path: { id } } })),
  assign: (id: Id, traineeIds: string[]) => call(api.POST('/api/v1/training/sets/{id}/assignments', { params: { path: { id } }, body: { traineeIds } })),
  setScores: (id: Id) => call(api.GET('/api/v1/training/sets/{id}/scores', { params: { path: { id } } })),
  dashboard: () => call(api.GET('/api/v1/training/dashboard', {})),
  mySessions: () => call(api.GET('/api/v1/training/my/sessions', {})),
  session: (id: Id) => call(api.GET('/api/v1/training/sessions/{id}', { params: { path: { id } } })),
  answer: (id: Id, caseId: string, body: AnswerBody) => call(api.POST('/api/v1/training/sessions/{id}/cases/{caseId}/answer', { params: { path: { id, caseId } }, body })),
  /** The next case of a session, or null when every case is answered (the session is then completed). */
  async next(id: Id) {
    const pending = api.POST('/api/v1/training/sessions/{id}/next', { params: { path: { id } } });
    const data = await call(pending);
    return (await pending).response.status === 204 ? null : data;
  },
};

export type ArchivePage = Awaited<ReturnType<typeof trainingApi.archive>>;
export type ArchiveCase = ArchivePage['cases'][number];
export type ThreatItem = Awaited<ReturnType<typeof trainingApi.threatItems>>[number];
export type Trainee = Awaited<ReturnType<typeof trainingApi.trainees>>[number];
export type SetDetail = Awaited<ReturnType<typeof trainingApi.set>>;
export type SetSummary = Awaited<ReturnType<typeof trainingApi.sets>>[number];
export type Dashboard = Awaited<ReturnType<typeof trainingApi.dashboard>>;
export type TraineeScores = Dashboard['trainees'][number];
export type SessionScore = TraineeScores['sessions'][number];
export type DetectionScore = TraineeScores['overall'];
export type CategoryScore = TraineeScores['byCategory'][number];
export type SessionSummary = Awaited<ReturnType<typeof trainingApi.mySessions>>[number];
export type OwnSession = Awaited<ReturnType<typeof trainingApi.session>>;
export type NextCase = NonNullable<Awaited<ReturnType<typeof trainingApi.next>>>;
export type AnswerResult = Awaited<ReturnType<typeof trainingApi.answer>>;

/** Where the images of a training case hang (the same suffixes as a live scan's). */
export const trainingCaseBase = (caseId: string): string => `/api/v1/training/cases/${encodeURIComponent(caseId)}`;

/** Routes of the CSV exports (downloaded with the bearer token). */
export const csvRoutes = {
  setAnswers: (setId: string) => `/api/v1/training/sets/${encodeURIComponent(setId)}/answers.csv`,
  traineeScores: (traineeId: string) => `/api/v1/training/trainees/${encodeURIComponent(traineeId)}/scores.csv`,
};
