/**
 * Every word of the HTML report in one place, so that it can be translated without touching the
 * renderer: headings, labels, what each finding code means and what to do about it, what each
 * hour state means, the method, and the control mapping. English is the only language shipped;
 * another is a copy of {@link EN} with the same keys.
 * @module
 */
import type { FindingCode } from '../chain/findings.js';
import type { HourState } from './timeline.js';

/** What a finding code means to a reader who is not an engineer, and what to do about it. */
export interface CodeText {
  /** What it means. */
  meaning: string;
  /** What to do. */
  action: string;
}

/** What the run shows about one control: the facts the mapping sentences are made from. */
export interface ControlFacts {
  /** Every region's chain passed. */
  ok: boolean;
  /** Hours of the window drawn. */
  hours: number;
  /** Hours whose digest and logs verified. */
  validHours: number;
  /** The window asked for, as `FROM to TO`. */
  window: string;
  /** Findings that are invalid. */
  invalid: number;
  /** The run wrote a signed checkpoint. */
  checkpoint: boolean;
}

/** One control of the mapping. */
export interface ControlText {
  /** The framework and the control's identifier, e.g. `PCI DSS 4.0.1 10.3.4`. */
  id: string;
  /** The requirement, summarised. */
  requirement: string;
  /** What this run shows for it. */
  shows: (facts: ControlFacts) => string;
  /** What this run does not show. */
  limits: string;
  /** What a watch history's period shows for it. */
  period: (facts: PeriodFacts) => string;
}

/** What a watch history shows about a period: the facts the period's mapping sentences are made from. */
export interface PeriodFacts {
  /** The period, as `FROM to TO`. */
  period: string;
  /** Hours due over every chain. */
  hours: number;
  /** Of them, verified. */
  verified: number;
  /** Percentage verified within the latency bound. */
  within: number;
  /** The latency bound, in hours. */
  withinHours: number;
  /** Passes in the period. */
  passes: number;
  /** Passes that found something invalid or failed. */
  passesWithFindings: number;
  /** Gaps in the watching. */
  gaps: number;
}

/** The strings of one language. */
export interface ReportStrings {
  /** The `lang` attribute of the document. */
  lang: string;
  /** The document's title and first heading. */
  title: string;
  /** A period report's title. */
  periodTitle: string;
  /** Section headings. */
  headings: {
    verdict: string;
    scope: string;
    coverage: string;
    findings: string;
    method: string;
    controls: string;
    integrity: string;
    keys: string;
    regions: string;
  };
  /** Labels of the scope table. */
  scope: {
    trail: string;
    accounts: string;
    organization: string;
    regions: string;
    bucket: string;
    prefix: string;
    source: string;
    asked: string;
    found: string;
    nothingFound: string;
    tool: string;
    ran: string;
    notRecorded: string;
    keysNote: string;
    fingerprint: string;
    validFrom: string;
    validTo: string;
    open: string;
  };
  /** The verdict, in words. */
  verdict: {
    valid: string;
    invalid: string;
    stopped: string;
    allHours: (hours: number, region: string) => string;
    noneChanged: string;
    someHours: (valid: number, hours: number, region: string) => string;
    empty: (region: string) => string;
    failedBecause: string;
    chainLevel: (count: number, code: string, meaning: string) => string;
    stoppedBy: (code: string, message: string) => string;
    regionOk: string;
    regionInvalid: string;
  };
  /** Labels of the coverage figure and its tables. */
  coverage: {
    figureCaption: (region: string, from: string, to: string) => string;
    figureDescription: string;
    legend: string;
    state: string;
    letter: string;
    hoursCol: string;
    fromCol: string;
    toCol: string;
    runsCaption: string;
    countsCaption: string;
    filesCaption: string;
    kind: string;
    valid: string;
    invalid: string;
    digests: string;
    backfillDigests: string;
    logs: string;
    objects: string;
    gaps: string;
    cut: (shown: number) => string;
    notAllGreen: string;
  };
  /** Labels of the findings table. */
  findings: {
    none: string;
    severity: string;
    code: string;
    object: string;
    expected: string;
    actual: string;
    meaning: string;
    action: string;
    message: string;
    more: (shown: number, total: number) => string;
    byCode: string;
    count: string;
  };
  /** The integrity section. */
  integrity: {
    sha256: string;
    how: string;
    check: string;
    checkpointHeading: string;
    checkpointFile: string;
    checkpointReport: string;
    checkpointAgrees: string;
    checkpointDiffers: string;
    checkpointVerify: string;
    noCheckpoint: string;
    timestampHeading: string;
    timestampTime: string;
    timestampAuthority: string;
    timestampVerify: string;
    noTimestamp: string;
  };
  /** Hour states: a name and a sentence each. */
  hours: Readonly<Record<HourState, { name: string; letter: string; text: string }>>;
  /** The severities. */
  severities: Readonly<Record<'valid' | 'invalid' | 'notice', string>>;
  /** What each code means and what to do, for every code. */
  codes: Readonly<Record<FindingCode, CodeText>>;
  /** The method, paragraph by paragraph (headed items). */
  method: ReadonlyArray<{ title: string; text: string }>;
  /** What the checks cannot prove. */
  cannotProve: ReadonlyArray<string>;
  /** The heading of {@link ReportStrings.cannotProve}. */
  cannotProveHeading: string;
  /** The controls, in order. */
  controls: ReadonlyArray<ControlText>;
  /** The control table's column headings. */
  controlColumns: { requirement: string; shows: string; limits: string };
  /** The sentence before the control table. */
  controlsIntro: string;
  /** The period report (from a watch history). */
  period: {
    summary: (hours: number, verified: number, within: number, limitHours: number) => string;
    findingsLine: (count: number, first?: string) => string;
    noHours: string;
    scope: { trail: string; period: string; passes: string; firstPass: string; lastPass: string; format: string; notRecorded: string };
    chains: string;
    chain: string;
    expected: string;
    verifiedHours: string;
    missing: string;
    notDue: string;
    worst: string;
    withinCol: (limitHours: number) => string;
    watchGaps: string;
    noWatchGaps: string;
    gapWhere: Readonly<Record<'before-first' | 'between' | 'after-last' | 'no-passes', string>>;
    length: string;
    findings: string;
    noFindings: string;
    pass: string;
    status: string;
    alerts: string;
    regions: string;
    hourStates: { verified: string; missing: string; notDue: string };
    method: string;
    integrity: string;
    check: string;
  };
}

/** How many, with the noun in the singular or plural. */
const n = (count: number, one: string, many = `${one}s`): string => `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;

/** The English strings. */
export const EN: ReportStrings = Object.freeze({
  lang: 'en',
  title: 'CloudTrail log integrity report',
  periodTitle: 'CloudTrail log integrity: period report',
  headings: {
    verdict: 'Verdict',
    scope: 'Scope',
    coverage: 'Coverage, hour by hour',
    findings: 'Findings',
    method: 'Method',
    controls: 'Control mapping',
    integrity: 'Integrity of this report',
    keys: 'Public keys trusted by the run',
    regions: 'Chains',
  },
  scope: {
    trail: 'Trail',
    accounts: 'Account',
    organization: 'Organization',
    regions: 'Regions (one chain each)',
    bucket: 'Bucket',
    prefix: 'Key prefix',
    source: 'Read from',
    asked: 'Window asked for',
    found: 'Window found (valid digests)',
    nothingFound: 'no valid digest in the window',
    tool: 'Tool',
    ran: 'Run',
    notRecorded: 'not recorded in the JSON report',
    keysNote: 'The keys the run accepted digest signatures from: given with --public-keys, or fetched from CloudTrail (ListPublicKeys). A digest signed by any other key is reported invalid.',
    fingerprint: 'Fingerprint (MD5 of the key)',
    validFrom: 'Valid from',
    validTo: 'Valid to',
    open: 'open',
  },
  verdict: {
    valid: 'VALID',
    invalid: 'INVALID',
    stopped: 'INCOMPLETE',
    allHours: (hours: number, region: string) => `All ${n(hours, 'hour')} of ${region} verified`,
    noneChanged: 'no log file was modified, deleted or added.',
    someHours: (valid: number, hours: number, region: string) => `${valid.toLocaleString('en-US')} of ${n(hours, 'hour')} of ${region} verified`,
    empty: (region: string) => `No digest of ${region} in the window: nothing was verified there`,
    failedBecause: 'What failed:',
    chainLevel: (count: number, code: string, meaning: string) => `${n(count, 'finding')} ${code}: ${meaning}`,
    stoppedBy: (code: string, message: string) => `The run stopped before its end (${code}): ${message}. The counts are those made so far.`,
    regionOk: 'valid',
    regionInvalid: 'INVALID',
  },
  coverage: {
    figureCaption: (region: string, from: string, to: string) => `Chain ${region}: one cell per hour, from ${from} to ${to}, one row per day (UTC).`,
    figureDescription: 'Each cell carries a pattern and the legend a letter as well as a colour, so that the figure reads in black and white. The table after it lists the same hours as text.',
    legend: 'Legend',
    state: 'State',
    letter: 'Mark',
    hoursCol: 'Hours',
    fromCol: 'From (UTC)',
    toCol: 'To (UTC)',
    runsCaption: 'The figure as text: consecutive hours of the same state.',
    countsCaption: 'Hours by state',
    filesCaption: 'Files checked',
    kind: 'Kind',
    valid: 'Valid',
    invalid: 'Invalid',
    digests: 'Digest files',
    backfillDigests: 'Digest files (backfill chain)',
    logs: 'Log files',
    objects: 'Other objects in the trail\'s folders',
    gaps: 'Gaps in the chain',
    cut: (shown: number) => `The window is longer than the figure: its first ${n(shown, 'hour')} are drawn; the findings below cover the whole window.`,
    notAllGreen: 'Every hour drawn is valid, but this chain is INVALID: see what failed above and the findings below.',
  },
  findings: {
    none: 'No finding other than valid files.',
    severity: 'Severity',
    code: 'Code',
    object: 'Object',
    expected: 'Expected',
    actual: 'Actual',
    meaning: 'What it means',
    action: 'What to do',
    message: 'Details',
    more: (shown: number, total: number) => `The first ${shown.toLocaleString('en-US')} of ${n(total, 'finding')} are listed; the JSON report holds every one.`,
    byCode: 'Findings by code',
    count: 'Count',
  },
  integrity: {
    sha256: 'Canonical SHA-256 of the JSON report',
    how: 'The SHA-256 of the JSON report\'s findings and summary as canonical JSON (keys sorted, no spaces, UTF-8), the summary with the window found and whether any finding is invalid: the value a checkpoint written by the same run holds on its "report" line.',
    check: 'A second person checks it from the JSON report (the same value must be printed):',
    checkpointHeading: 'Signed checkpoint written by this run',
    checkpointFile: 'File',
    checkpointReport: 'Its "report" line',
    checkpointAgrees: 'equals the SHA-256 above: the checkpoint was signed over this report.',
    checkpointDiffers: 'DIFFERS from the SHA-256 above: this document and the checkpoint are not of the same report.',
    checkpointVerify: 'Its signatures are verified by a run from it (every key given must have signed):',
    noCheckpoint: 'This run wrote no checkpoint (--checkpoint-out): the report is not signed. Keep the JSON report and its SHA-256 where they cannot be changed unseen.',
    timestampHeading: 'Time stamp',
    timestampTime: 'Time attested',
    timestampAuthority: 'Authority',
    timestampVerify: 'The token checks with openssl (the note\'s text is the file up to its blank line):',
    noTimestamp: 'The checkpoint was not time-stamped (--timestamp-url).',
  },
  hours: {
    valid: { name: 'valid', letter: 'V', text: 'its digest and every log file it lists are intact' },
    invalid: { name: 'invalid', letter: 'X', text: 'its digest, a log file it lists, or a log file delivered in it fails a check' },
    missing: { name: 'missing', letter: 'M', text: 'the digest of this hour is absent' },
    rewritten: { name: 'rewritten after a checkpoint', letter: 'R', text: 'the chain does not lead back to the digest a checkpoint pins: history was changed after the checkpoint was taken' },
    gap: { name: 'gap', letter: 'G', text: 'the chain restarts after this hour: no digest covers it (logging or validation was stopped)' },
    tail: { name: 'deleted tail', letter: 'T', text: 'the newest digests were deleted (log files came after the newest digest, or a checkpoint pins a later one)' },
    none: { name: 'not covered', letter: '-', text: 'no digest covers this hour: not yet due, before the first digest, or outside the chain' },
  },
  severities: { valid: 'valid', invalid: 'INVALID', notice: 'notice' },
  codes: {
    DIGEST_VALID: { meaning: 'The digest file is where it says, and correctly signed by a trusted key.', action: 'Nothing.' },
    DIGEST_NOT_FOUND: { meaning: 'A digest file the chain links to (or that was listed) is absent: the hour it covered cannot be verified.', action: 'Find out who deleted it (S3 server access logs, CloudTrail data events on the bucket); restore it from a copy or versioning; treat the hour\'s logs as unverified.' },
    DIGEST_INVALID_FORMAT: { meaning: 'The digest file is damaged or not a digest: not one gzip stream, not JSON, or a field missing.', action: 'Compare it with a copy (object versions, replication); find who wrote it; treat the hour\'s logs as unverified.' },
    DIGEST_MOVED: { meaning: 'The digest file names another location than the one it was found at: it was copied or moved.', action: 'Find where it came from; a copied digest may hide a deleted one.' },
    DIGEST_KEY_NOT_FOUND: { meaning: 'No trusted public key has the digest\'s fingerprint: its signature cannot be checked.', action: 'Give the trail\'s keys for the window (aws cloudtrail list-public-keys); if the key is not CloudTrail\'s, the digest was forged.' },
    DIGEST_SIGNATURE_INVALID: { meaning: 'The digest\'s signature does not verify: the digest (or its signature) was changed after CloudTrail signed it.', action: 'Treat the digest and the logs it lists as tampered with; preserve the bucket\'s state and investigate who wrote it.' },
    DIGEST_SIGNATURE_MISSING: { meaning: 'No signature was found for the digest (no metadata, and no later digest links to it).', action: 'For a local copy, save each digest\'s S3 metadata beside it; online, find who removed the metadata.' },
    DIGEST_LINK_MISMATCH: { meaning: 'The digest is signed, but is not the one the next digest links to: history was rewritten and re-signed by someone holding a signing key.', action: 'Treat as tampering; find which key signed it and who holds it.' },
    DIGEST_OUT_OF_ORDER: { meaning: 'The digest does not end before the digest that links to it: the chain is out of order.', action: 'Investigate the chain\'s history around it: digests were moved or rewritten.' },
    DIGEST_KEY_NOT_VALID: { meaning: 'The digest was signed by a key outside that key\'s validity window.', action: 'Check the key list given; a key used outside its window suggests a forged digest.' },
    DIGEST_ALGORITHM_UNSUPPORTED: { meaning: 'The digest names a signature algorithm other than SHA256withRSA.', action: 'Treat as forged or damaged: CloudTrail signs with SHA256withRSA.' },
    DIGEST_ACCOUNT_MISMATCH: { meaning: 'The digest names another account than the folder it lies in: another account\'s digest was planted.', action: 'Find who wrote it; another trail\'s artefacts do not prove this trail\'s logs.' },
    DIGEST_UNREADABLE: { meaning: 'Storage kept failing while the digest was read, or it is not a regular file: it was not verified.', action: 'Check access to the bucket (permissions, KMS keys) and run again.' },
    DIGEST_TIME_INVALID: { meaning: 'The digest\'s times contradict each other or its name: the traces of a partial rewrite.', action: 'Treat as tampering; compare with a copy.' },
    DIGEST_UNREACHED: { meaning: 'A digest in the window that the chain walk never reached: a link skips it, or a loop bypasses it.', action: 'Treat as tampering with the chain; find which digests were rewritten.' },
    LOG_VALID: { meaning: 'The log file is present, one well-formed gzip stream, and matches the SHA-256 its digest lists.', action: 'Nothing.' },
    LOG_NOT_FOUND: { meaning: 'A log file a digest lists is absent: it was deleted or moved.', action: 'Restore it from a copy or versioning; find who deleted it; its events are lost to this store until then.' },
    LOG_HASH_MISMATCH: { meaning: 'The log file\'s SHA-256 differs from the one its signed digest lists: it was changed after delivery.', action: 'Treat its events as tampered with; restore the original from a copy; investigate who wrote it.' },
    LOG_INVALID_FORMAT: { meaning: 'The log file is not exactly one gzip stream: corrupt, truncated, or with data appended.', action: 'Restore it from a copy; find who wrote it.' },
    LOG_HASH_ALGORITHM_UNSUPPORTED: { meaning: 'The digest lists the log with a hash algorithm other than SHA-256.', action: 'Treat the digest as forged or damaged.' },
    LOG_TOO_LARGE: { meaning: 'The log file inflates past the size limit, as a gzip bomb does: it was not verified.', action: 'Inspect it with care; raise --max-log-size only for a genuine log.' },
    LOG_UNREADABLE: { meaning: 'Storage kept failing while the log file was read: it was not verified.', action: 'Check access to the bucket and run again.' },
    LOG_UNREFERENCED: { meaning: 'A log file in the window that no verified digest lists: injected, withheld from the digests, or delivered after a deleted tail.', action: 'Do not trust its events; find who wrote it.' },
    LOG_DUPLICATE: { meaning: 'A log file listed twice, in one digest or by two.', action: 'Treat the digest that lists it again as forged or damaged.' },
    LOG_MISPLACED: { meaning: 'A digest lists a log file where the trail\'s logs never are.', action: 'Treat the digest as forged; find who wrote it.' },
    CHAIN_GAP: { meaning: 'The chain restarts: no digest covers the hours in between (logging or digest delivery was stopped and restarted).', action: 'Check the trail\'s history (StopLogging, UpdateTrail events) for the hours of the gap; logs delivered then are not covered by any digest.' },
    CHAIN_TAIL_MISSING: { meaning: 'The newest digest files were deleted: log files came after the newest digest and no later digest exists.', action: 'Treat the logs after the newest digest as unverified; find who deleted the digests; restore them from a copy.' },
    CHAIN_LOOP: { meaning: 'The digest links form a loop.', action: 'Treat as tampering with the chain.' },
    CHAIN_EMPTY: { meaning: 'A region with no digest of this trail in the window: nothing was verified there.', action: 'Check that the trail logs in that region and that digest delivery is enabled; check the window.' },
    CHECKPOINT_MISMATCH: { meaning: 'The chain does not lead back to the digest a signed checkpoint pins: history was rewritten after the checkpoint was taken.', action: 'Treat everything after the pinned digest as rewritten; compare with the witness\'s copy and investigate.' },
    CHECKPOINT_ROLLBACK: { meaning: 'The newest digests, the one a checkpoint pins included, were deleted after the checkpoint was taken.', action: 'Treat the deleted hours as lost from this store; restore from a copy; find who deleted them.' },
    OBJECT_UNEXPECTED: { meaning: 'Something under the trail\'s folders that is neither a log nor a digest of the trail: planted or misnamed.', action: 'Find who wrote it and remove it once understood.' },
    OBJECT_UNREADABLE: { meaning: 'An object or folder that cannot be listed or read as a regular file (a FIFO, a device, a link leading out, permission denied).', action: 'Check the copy or the bucket\'s permissions; find who put it there.' },
  },
  method: [
    { title: 'The chain', text: 'CloudTrail delivers, every hour and for each region, a digest file that lists the log files delivered in that hour with their SHA-256, and links to the previous digest by its SHA-256 and signature. The run walks this chain from the newest digest in the window back to the oldest, link by link, and reports every digest it does not reach, every hole, every restart (gap), and a deleted tail (log files after the newest digest).' },
    { title: 'Signatures', text: 'Each digest is signed by CloudTrail with an RSA key of the region (SHA256withRSA over the digest\'s time, location, hash and the previous signature). The run checks every signature against the public keys listed below, and that each key was valid when it signed.' },
    { title: 'Hashes', text: 'Every log file a digest lists is read, checked to be exactly one well-formed gzip stream, and hashed (SHA-256); the hash must equal the one in the signed digest.' },
    { title: 'Inventory', text: 'Every object under the trail\'s log and digest folders in the window is listed: a log file no digest lists, a log listed twice or in the wrong place, a planted or unreadable object is reported.' },
    { title: 'Checkpoints', text: 'A run from a signed checkpoint must lead back, link by link, to exactly the digest the checkpoint pins: a rewrite after it (even one re-signed with a valid key) or a deletion of the newest digests is reported.' },
  ],
  cannotProveHeading: 'What these checks cannot prove',
  cannotProve: [
    'A deletion of the newest digests and their log files together, with nothing delivered after, leaves no trace in the bucket: only a checkpoint taken earlier (or a comparison with the trail\'s delivery status online) shows it.',
    'Events CloudTrail never recorded (a service or region not logged, data events not selected) are not in any log file: the trail\'s configuration is outside this report.',
    'That each event is true: the digests bind the log files to what CloudTrail delivered, not the actions to the people named in them (that rests on AWS\'s authentication).',
    'Anything outside the window and the regions listed in the scope.',
    'A rewrite by someone holding CloudTrail\'s private signing key, from the oldest digest of the window on, without a checkpoint taken before it.',
  ],
  controlColumns: { requirement: 'Requirement (summary)', shows: 'What this run shows', limits: 'What it does not show' },
  controlsIntro: 'How this run bears on common controls. It is evidence for an assessor to weigh, not an assessment: each control also asks for things outside this run.',
  controls: [
    {
      id: 'PCI DSS 4.0.1 10.3.4',
      requirement: 'File integrity monitoring or change-detection mechanisms are used on audit logs so that existing log data cannot be changed without generating alerts.',
      shows: (f: ControlFacts) =>
        f.ok
          ? `A change-detection check of the audit logs of ${f.window}: every log file matched the SHA-256 in its signed digest; no change, deletion or addition was found.`
          : `A change-detection check of the audit logs of ${f.window} found changes: ${n(f.invalid, 'invalid finding')} (listed under Findings).`,
      limits: 'One run is not continuous monitoring and sends no alert by itself: the alerts come from running it on a schedule (validate-logs watch) and acting on its exit status.',
      period: (f: PeriodFacts) => `Change detection ran throughout ${f.period}: ${n(f.passes, 'pass', 'passes')}, ${n(f.passesWithFindings, 'pass', 'passes')} with findings (each alerted once), ${n(f.gaps, 'gap')} in the watching.`,
    },
    {
      id: 'PCI DSS 4.0.1 10.5.1',
      requirement: 'Audit log history is retained for at least 12 months, with at least the most recent three months immediately available for analysis.',
      shows: (f: ControlFacts) => `For ${f.window}, ${n(f.validHours, 'hour')} of ${n(f.hours, 'hour')} have their log files present and intact in storage.`,
      limits: 'Only the window checked: retention settings (S3 Lifecycle, Object Lock) and the months outside the window are not examined; a window shorter than 12 months says nothing about the rest.',
      period: (f: PeriodFacts) => `${n(f.verified, 'hour')} of ${n(f.hours, 'hour')} due in ${f.period} were verified present and intact when the passes ran; later deletion is seen only by later passes.`,
    },
    {
      id: 'NIST SP 800-53 AU-9(3)',
      requirement: 'Protection of audit information, cryptographic protection: cryptographic mechanisms protect the integrity of audit information.',
      shows: (f: ControlFacts) =>
        `The audit records of the window are covered by SHA-256 hashes in hourly digests signed with RSA keys and chained to each other; this run verified them${f.ok ? ', without exception' : `, with ${n(f.invalid, 'invalid finding')}`}${f.checkpoint ? ', and pinned the result in a signed checkpoint' : ''}.`,
      limits: 'The protection of the audit tools themselves, and of the signing keys (held by AWS), is not examined.',
      period: (f: PeriodFacts) => `The signed, chained digests of ${f.period} were verified as they arrived: ${n(f.verified, 'hour')} of ${n(f.hours, 'hour')} due.`,
    },
    {
      id: 'NIST SP 800-53 AU-10',
      requirement: 'Non-repudiation: irrefutable evidence that an individual (or process acting for one) performed an action.',
      shows: (f: ControlFacts) =>
        f.ok
          ? 'The log files are exactly those CloudTrail delivered and signed: the records cannot be disowned as altered after delivery.'
          : 'Some log files are not those CloudTrail delivered and signed (see Findings): their records cannot support non-repudiation.',
      limits: 'That the identity in each event performed the action rests on AWS\'s authentication of the caller, not on this run; the binding is to the service that delivered the logs.',
      period: (f: PeriodFacts) => `The binding of the log files to CloudTrail\'s signatures was validated at a defined frequency over ${f.period} (${n(f.passes, 'pass', 'passes')}), with findings alerted.`,
    },
    {
      id: 'SOC 2 CC7.2',
      requirement: 'The entity monitors system components and the operation of controls for anomalies indicative of malicious acts, natural disasters and errors, and analyses them.',
      shows: (f: ControlFacts) => `One monitoring activity over the audit-log store, at the time it ran, with each anomaly classified and explained (${f.ok ? 'none found' : n(f.invalid, 'invalid finding')}).`,
      limits: 'A Type II period needs proof that the monitoring ran throughout it (the watch history and its period report), and the entity\'s analysis and response to what was found.',
      period: (f: PeriodFacts) => `The monitoring operated throughout ${f.period}: ${n(f.passes, 'pass', 'passes')}, ${n(f.gaps, 'gap')} in the watching, ${f.within} % of due hours verified within ${f.withinHours} h of delivery.`,
    },
    {
      id: 'ISO/IEC 27001:2022 A.8.15',
      requirement: 'Logging: logs that record activities, exceptions, faults and other relevant events are produced, stored, protected and analysed.',
      shows: (f: ControlFacts) => `Stored logs of ${f.window} are protected against undetected change: ${n(f.validHours, 'hour')} of ${n(f.hours, 'hour')} verified; hours with no digest show where logs were not produced or delivered.`,
      limits: 'What is logged (the trail\'s configuration) and the analysis of the events themselves are outside this run.',
      period: (f: PeriodFacts) => `Stored logs of ${f.period} were checked for protection as they arrived: ${n(f.verified, 'hour')} of ${n(f.hours, 'hour')} due verified.`,
    },
  ],
  period: {
    summary: (hours: number, verified: number, within: number, limitHours: number) =>
      verified === hours
        ? `Every hour of the period verified (${n(hours, 'hour')} due), ${within} % within ${limitHours} h of delivery.`
        : `${verified.toLocaleString('en-US')} of ${n(hours, 'hour')} due in the period verified, ${within} % within ${limitHours} h of delivery.`,
    findingsLine: (count: number, first?: string) => (count === 0 ? 'No pass found anything invalid.' : `${n(count, 'pass', 'passes')} found something invalid or could not read the trail; the first alerted at ${first ?? '—'}.`),
    noHours: 'No hour of the period is due yet.',
    scope: { trail: 'Trail (from the state)', period: 'Period', passes: 'Passes in the period', firstPass: 'First pass', lastPass: 'Last pass', format: 'History format', notRecorded: 'not recorded (no state beside the history)' },
    chains: 'Chains watched',
    chain: 'Chain',
    expected: 'Hours due',
    verifiedHours: 'Verified',
    missing: 'Missing',
    notDue: 'Not yet due',
    worst: 'Longest latency',
    withinCol: (limitHours: number) => `Verified within ${limitHours} h of delivery`,
    watchGaps: 'Gaps in the watching itself',
    noWatchGaps: 'No gap: a pass ran in every interval of the period.',
    gapWhere: { 'before-first': 'before the first pass', between: 'between two passes', 'after-last': 'after the last pass', 'no-passes': 'no pass in the period' },
    length: 'Length',
    findings: 'Passes that found something',
    noFindings: 'No pass of the period found anything invalid or failed to read the trail.',
    pass: 'Pass',
    status: 'Status',
    alerts: 'Alerts decided (ids)',
    regions: 'Regions',
    hourStates: { verified: 'verified by a pass', missing: 'due and never verified', notDue: 'not yet due at the end of the period' },
    method: 'A watcher (validate-logs watch) ran passes over the trail: each pass verified what had arrived since the state\'s signed checkpoints (the same checks as a run: chain, signatures, hashes, inventory, checkpoints) and appended a record to the history. This report is the answer validate-logs history gives for the period: an hour is verified when the digests the passes verified cover it whole; it is missing when it was due (2 h after its end) and never verified. A stretch without a pass for longer than twice the interval is a gap in the watching.',
    integrity: 'Canonical SHA-256 of the history answer',
    check: 'A second person recomputes it from the same state (the history is append-only; the answer for a closed period does not change):',
  },
} satisfies ReportStrings);
