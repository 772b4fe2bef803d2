import { Logger } from '@nestjs/common';
import { DrizzleQueryError } from 'drizzle-orm';
import { DatabaseUnavailableError } from '../database/database-fault.js';
import { StorageUnavailableError } from '../storage/object-storage.js';
import { ApiError } from './api-error.js';
import { ApiErrorFilter } from './api-error.filter.js';

/** A system error as node:net raises it. */
const systemError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });
/** An error message of the PostgreSQL server as node-postgres raises it. */
const serverError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });
const failedQuery = (cause: unknown) => new DrizzleQueryError('select "id" from "scans" where "id" = $1', ['x'], cause as Error);

describe(ApiErrorFilter.name, () => {
  const filter = new ApiErrorFilter();

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['a connection the pool could not open', new DatabaseUnavailableError(systemError('ECONNREFUSED'))],
    ['a query whose connection was refused', failedQuery(systemError('ECONNREFUSED'))],
    ['a query whose connection was reset', failedQuery(systemError('ECONNRESET'))],
    ['a query whose connection ended', failedQuery(new Error('Connection terminated unexpectedly'))],
    ['a rollback on a dead connection', failedQuery(new Error('Client has encountered a connection error and is not queryable'))],
    ['a server shut down by its administrator (57P01)', failedQuery(serverError('57P01', 'terminating connection due to administrator command'))],
    ['a server starting up (57P03)', serverError('57P03', 'the database system is starting up')],
    ['a connection exception (08006)', serverError('08006', 'connection failure')],
    ['postgres.js: CONNECTION_CLOSED', Object.assign(new Error('write CONNECTION_CLOSED db:5432'), { code: 'CONNECTION_CLOSED' })],
    ['postgres.js: CONNECTION_ENDED', Object.assign(new Error('write CONNECTION_ENDED db:5432'), { code: 'CONNECTION_ENDED' })],
    ['every address of the host refused', new DatabaseUnavailableError(new AggregateError([systemError('ECONNREFUSED')], ''))],
  ])('answers 503 database_unavailable for %s', (_case, error) => {
    const { status, body } = filter.render(error);
    expect([status, body.error.code]).toEqual([503, 'database_unavailable']);
    expect(body.error.message).toMatch(/try again/);
  });

  it.each([
    ['a query the server refused (syntax)', failedQuery(serverError('42601', 'syntax error at or near "selec"'))],
    ['a unique violation', failedQuery(serverError('23505', 'duplicate key value violates unique constraint'))],
    ['a network error that is not the database', systemError('ECONNREFUSED')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ])('answers 500 internal_error for %s', (_case, error) => {
    expect(filter.render(error)).toMatchObject({ status: 500, body: { error: { code: 'internal_error' } } });
  });

  it('answers 503 queue_unavailable, with Retry-After, when the queues\' Redis does not answer', () => {
    const gaveUp = Object.assign(new Error('Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.'), { name: 'MaxRetriesPerRequestError' });
    expect(filter.render(gaveUp)).toMatchObject({ status: 503, body: { error: { code: 'queue_unavailable' } } });
    expect(filter.render(new Error('Connection is closed.'))).toMatchObject({ status: 503, body: { error: { code: 'queue_unavailable' } } });
  });

  it('keeps the answers of ApiError and storage faults', () => {
    expect(filter.render(ApiError.notFound('scan_not_found', 'no scan'))).toMatchObject({ status: 404, body: { error: { code: 'scan_not_found' } } });
    expect(filter.render(new StorageUnavailableError('write', systemError('ECONNREFUSED')))).toMatchObject({ status: 503, body: { error: { code: 'storage_unavailable' } } });
  });

  it('logs the lost connection with its cause, never the parameters of the query', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    filter.render(new DrizzleQueryError('select "id" from "stations" where "api_key_hash" = $1', ['secret-hash'], systemError('ECONNREFUSED')));
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('ECONNREFUSED'));
    expect(warn.mock.calls[0][0]).not.toContain('secret-hash');
  });
});
