export { createApp, MAX_BODY_BYTES } from './http/app.js';
export { openApiDocument } from './http/openapi.js';
export { createLogger, REDACT_PATHS } from './logger.js';
export { type RunningDispatcher, type StartOptions, startDispatcher } from './server.js';
export { createDispatchService, type DispatchService } from './service/service.js';
