/**
 * The SHA-256 of a run's report, as a checkpoint pins it. A module of its own: only a run that
 * writes a checkpoint loads the canonical JSON writer.
 * @module
 */
import stringify from 'fast-json-stable-stringify';
import type { Finding } from '../chain/findings.js';
import { sha256Hex } from '../hash/sha256.js';
import { encodeUtf8 } from '../utils.js';

/**
 * The SHA-256 of a run's report: its findings and summary as canonical JSON (keys sorted, no
 * spaces, as `fast-json-stable-stringify` writes them), UTF-8.
 * @param report - the findings, in report order, and the summary
 * @returns lower-case hex SHA-256
 */
export function reportSha256(report: { findings: readonly Finding[]; summary: unknown }): string {
  return sha256Hex(encodeUtf8(stringify({ findings: report.findings, summary: report.summary })));
}
