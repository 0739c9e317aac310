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
