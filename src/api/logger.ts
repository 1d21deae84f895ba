import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Handlers log ids, codes, counts and durations only; the redaction
 * list is a second line of defence for anything that carries a key or a client file name.
 */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'key',
  'apiKey',
  'originalname',
  'originalName',
  'filename',
  'file.originalname',
  'files[*].originalname',
  'body',
  'yaml',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'veil-api' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options, pino.destination(2));
}
