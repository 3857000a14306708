/**
 * The AWS SDK's clients, loaded on first use (users of local copies never load them), each
 * once. They are loaded as the CommonJS modules their packages' main entries are: imported as
 * ES modules, Node.js would first scan each large CommonJS file for the names it exports, about
 * 120 ms of CPU for the S3 client alone on every run that goes online.
 * @module
 */
import { createRequire } from 'node:module';

const requireSdk = createRequire(import.meta.url);
const loaded = new Map<string, Promise<unknown>>();

function load<T>(name: string): Promise<T> {
  let module = loaded.get(name);
  if (!module) {
    // In a later turn of the event loop: requests already started go out first.
    module = new Promise((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(requireSdk(name));
        } catch (e) {
          reject(e);
        }
      }),
    );
    loaded.set(name, module);
  }
  return module as Promise<T>;
}

/**
 * `@aws-sdk/client-s3`.
 * @returns the module
 */
export const loadS3 = (): Promise<typeof import('@aws-sdk/client-s3')> => load('@aws-sdk/client-s3');

/**
 * `@aws-sdk/client-cloudtrail`.
 * @returns the module
 */
export const loadCloudTrail = (): Promise<typeof import('@aws-sdk/client-cloudtrail')> => load('@aws-sdk/client-cloudtrail');

/**
 * `@aws-sdk/client-organizations`.
 * @returns the module
 */
export const loadOrganizations = (): Promise<typeof import('@aws-sdk/client-organizations')> => load('@aws-sdk/client-organizations');

/**
 * `@aws-sdk/client-sns` (alerts to a topic).
 * @returns the module
 */
export const loadSns = (): Promise<typeof import('@aws-sdk/client-sns')> => load('@aws-sdk/client-sns');

/**
 * `@aws-sdk/client-eventbridge` (alerts to an event bus).
 * @returns the module
 */
export const loadEventBridge = (): Promise<typeof import('@aws-sdk/client-eventbridge')> => load('@aws-sdk/client-eventbridge');
