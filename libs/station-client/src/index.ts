export {
  StationClient,
  type Scan,
  type ScanMetadata,
  type ScanStatus,
  type StationClientOptions,
  type UploadFile,
  type UploadScanRequest,
  type UploadScanResult,
  type WaitForScanOptions,
} from './station-client.js';
export {
  AdminClient,
  type AdminClientOptions,
  type CreateStationRequest,
  type CreateUserRequest,
  type CreatedStation,
  type Session,
  type Station,
  type User,
} from './admin-client.js';
export { ScanWaitTimeoutError, StationApiError, StationNetworkError } from './station-api.error.js';
export type { RetryOptions } from './api-call.js';
export type { paths as StationApiPaths } from './openapi.generated.js';
