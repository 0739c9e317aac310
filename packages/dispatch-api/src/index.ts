export {
  type ApiFailure,
  type ApiResult,
  type CallOptions,
  createDispatchApiClient,
  DISPATCH_RETRY,
  type DispatchApiClient,
  type DispatchApiClientOptions,
  describeFailure,
} from './client.js';
export type { Fetch } from './exchange.js';
export { openApiDocument } from './openapi.js';
export {
  type Answer,
  COMPONENTS,
  type ComponentName,
  ERROR_TEXT,
  type ErrorStatus,
  fillPath,
  type HttpMethod,
  honoPath,
  ROUTES,
  type RouteDef,
  type RouteName,
} from './routes.js';
export * from './schemas.js';
