/**
 * RFC 3161 time stamps for checkpoint files: proof from an outside time-stamping authority
 * (TSA) that a checkpoint's exact bytes existed at a given time, so that a checkpoint cannot
 * be made up later and dated back.
 *
 * A request carries the SHA-256 of the bytes, a random nonce and `certReq`; it is POSTed as
 * `application/timestamp-query` with the global `fetch`. A response is verified against the
 * bytes, the nonce and a trusted certificate: status granted, message imprint, nonce, the CMS
 * signature, the signing-certificate attribute naming the signer's certificate, the
 * certificate chain up to the trusted certificate at the time stamped, and the signer's
 * critical extended key usage of time stamping only (RFC 3161 section 2.3).
 * @module
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ValidateLogsError } from '../errors.js';
import { readAll } from '../hash/hash-stream.js';
import { toHex } from '../utils.js';
import { bytesEqual, fromPem } from './encoding.js';

const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_SHA1 = '1.3.14.3.2.26';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_EKU = '2.5.29.37';
const OID_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
const OID_SIGNING_CERTIFICATE = '1.2.840.113549.1.9.16.2.12';
const OID_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';

/** Largest time-stamp response accepted from an authority, in bytes. */
export const MAX_TIMESTAMP_RESPONSE_BYTES: number = 1024 * 1024;

/** A time-stamp request, and what its response must match. */
export interface TimestampRequest {
  /** The DER TimeStampReq. */
  readonly der: Uint8Array;
  /** SHA-256 of the data. */
  readonly imprint: Uint8Array;
  /** The nonce, as the big-endian bytes of a positive INTEGER. */
  readonly nonce: Uint8Array;
}

/** What a verified time stamp says. */
export interface TimestampInfo {
  /** When the authority stamped the data. */
  readonly genTime: Date;
  /** The token's serial number, lower-case hex. */
  readonly serialNumber: string;
  /** The authority's policy OID. */
  readonly policy: string;
  /** The signing certificate's subject, as `CN=…, O=…`. */
  readonly signer: string;
}

/** What {@link requestTimestamp} sent and got back. */
export interface TimestampExchange {
  /** The request sent (keep its `nonce` to verify the response). */
  readonly request: TimestampRequest;
  /** The authority's DER TimeStampResp. */
  readonly response: Uint8Array;
}

/** Options of {@link requestTimestamp}. */
export interface RequestTimestampOptions {
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** The options of {@link checkTimestampResponse}: what the response must answer. */
export interface CheckTimestampOptions {
  /** The exact bytes that were to be stamped (for a checkpoint: its note's text). */
  data: Uint8Array;
  /** The nonce the request carried; the response must carry the same. Omit only for a token kept without its request. */
  nonce?: Uint8Array;
}

/** Options of {@link verifyTimestamp}: the data and nonce as {@link checkTimestampResponse} takes them, and the trusted root. */
export interface VerifyTimestampOptions extends CheckTimestampOptions {
  /** The trusted certificate(s), PEM (`-----BEGIN CERTIFICATE-----`): the authority's root. */
  trusted: string | readonly string[];
}

function fail(why: string, cause?: unknown): never {
  throw new ValidateLogsError('TIMESTAMP_INVALID', `time stamp: ${why}`, cause === undefined ? {} : { cause });
}

const buffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer;

/** A crypto engine over the runtime's WebCrypto, passed explicitly (no global registration). */
function engine(): pkijs.CryptoEngine {
  return new pkijs.CryptoEngine({ name: 'webcrypto', crypto: globalThis.crypto });
}

/**
 * Build a time-stamp request over `data`: SHA-256 imprint, a random 63-bit nonce, `certReq`.
 * @param data - the exact bytes to stamp
 * @returns the DER request, the imprint and the nonce
 */
export function createTimestampRequest(data: Uint8Array): TimestampRequest {
  const imprint = sha256(data);
  const nonce = crypto.getRandomValues(new Uint8Array(8));
  nonce[0] = (nonce[0]! & 0x7f) | 0x40; // positive, and minimal as a DER INTEGER
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: buffer(imprint) }),
    }),
    nonce: new asn1js.Integer({ valueHex: buffer(nonce) }),
    certReq: true,
  });
  return { der: new Uint8Array(req.toSchema().toBER()), imprint, nonce };
}

/**
 * Ask a time-stamping authority to stamp `data`: POST the request, check the reply against it
 * ({@link checkTimestampResponse}: status granted, a TimeStampResp holding a token, the
 * imprint of `data`, the request's nonce) and return it. Its signature is not verified here:
 * verify it with {@link verifyTimestamp}, passing the request's nonce, before trusting its time.
 * @param url - the authority's URL
 * @param data - the exact bytes to stamp
 * @param options - `fetch` to use instead of the global one, `signal` to abort
 * @returns the request and the DER TimeStampResp
 * @throws ValidateLogsError `TIMESTAMP_INVALID` when the authority cannot be reached (transient),
 *   answers with an HTTP error or another content type, answers too much, or answers a reply
 *   that is not a granted token for this request (naming what is wrong)
 */
export async function requestTimestamp(
  url: string,
  data: Uint8Array,
  options: RequestTimestampOptions = {},
): Promise<TimestampExchange> {
  const request = createTimestampRequest(data);
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      body: buffer(request.der),
      ...(options.signal && { signal: options.signal }),
    });
  } catch (cause) {
    throw new ValidateLogsError('TIMESTAMP_INVALID', `time stamp: the authority at ${url} cannot be reached: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, transient: true });
  }
  if (!res.ok) fail(`the authority at ${url} answered HTTP ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!/^application\/timestamp-(reply|response)\b/.test(type)) fail(`the authority at ${url} answered ${JSON.stringify(type)}, not application/timestamp-reply`);
  const body = await readReply(res, url);
  try {
    checkTimestampResponse(body, { data, nonce: request.nonce });
  } catch (cause) {
    if (!(cause instanceof ValidateLogsError)) throw cause;
    fail(`the reply of the authority at ${url} is refused: ${cause.message.replace(/^time stamp: /, '')}`, cause);
  }
  return { request, response: body };
}

/** An authority's reply body, read up to {@link MAX_TIMESTAMP_RESPONSE_BYTES}: a larger one is refused unread beyond that. */
async function readReply(res: Response, url: string): Promise<Uint8Array> {
  const tooLarge = (): never => fail(`the authority at ${url} answered more than ${MAX_TIMESTAMP_RESPONSE_BYTES} bytes`);
  if (Number(res.headers.get('content-length') ?? 0) > MAX_TIMESTAMP_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    tooLarge();
  }
  try {
    return res.body ? await readAll(res.body, { maxBytes: MAX_TIMESTAMP_RESPONSE_BYTES, what: `the answer of the authority at ${url}` }) : new Uint8Array(0);
  } catch (cause) {
    if (cause instanceof ValidateLogsError && cause.code === 'SIZE_LIMIT') return tooLarge();
    throw new ValidateLogsError('TIMESTAMP_INVALID', `time stamp: the answer of the authority at ${url} broke off: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, transient: true });
  }
}

function parseDer(der: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(buffer(der));
  if (parsed.offset === -1 || parsed.offset !== der.length) fail(`${what} is not one well-formed DER structure`);
  return parsed.result;
}

function parseCertificates(pems: string | readonly string[]): pkijs.Certificate[] {
  const list = typeof pems === 'string' ? [pems] : pems;
  if (list.length === 0) throw new TypeError('verifyTimestamp needs at least one trusted certificate');
  return list.flatMap((pem) =>
    (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [pem]).map((block) => {
      try {
        return new pkijs.Certificate({ schema: parseDer(fromPem(block, 'CERTIFICATE', 'trusted certificate'), 'trusted certificate') });
      } catch (cause) {
        return fail(`a trusted certificate cannot be read: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
      }
    }),
  );
}

function subject(cert: pkijs.Certificate): string {
  const names: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C' };
  return cert.subject.typesAndValues.map((tv) => `${names[tv.type] ?? tv.type}=${String(tv.value.valueBlock.value)}`).join(', ');
}

/** RFC 3161 section 2.3: one extended key usage, id-kp-timeStamping alone, critical. */
function checkKeyUsage(cert: pkijs.Certificate): void {
  const ekus = (cert.extensions ?? []).filter((e) => e.extnID === OID_EKU);
  if (ekus.length !== 1) fail(`the signing certificate (${subject(cert)}) has no extended key usage of time stamping`);
  const eku = ekus[0]!;
  const purposes = eku.parsedValue instanceof pkijs.ExtKeyUsage ? eku.parsedValue.keyPurposes : [];
  if (purposes.length !== 1 || purposes[0] !== OID_TIME_STAMPING) fail(`the signing certificate (${subject(cert)}) has an extended key usage other than time stamping alone`);
  if (!eku.critical) fail(`the signing certificate's (${subject(cert)}) extended key usage is not critical`);
}

/** The signing-certificate attribute (ESS, RFC 2634 / RFC 5035) must name the signer's certificate first. */
function checkSigningCertificate(signerInfo: pkijs.SignerInfo, cert: pkijs.Certificate): void {
  const attrs = signerInfo.signedAttrs?.attributes ?? [];
  const attr = attrs.find((a) => a.type === OID_SIGNING_CERTIFICATE_V2) ?? attrs.find((a) => a.type === OID_SIGNING_CERTIFICATE);
  if (!attr || attr.values.length !== 1) fail('the signature has no signing-certificate attribute naming the signer\'s certificate');
  const v2 = attr.type === OID_SIGNING_CERTIFICATE_V2;
  // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }
  const certs = (attr.values[0] as asn1js.Sequence).valueBlock?.value?.[0];
  const first = certs instanceof asn1js.Sequence ? certs.valueBlock.value[0] : undefined;
  if (!(first instanceof asn1js.Sequence)) return fail('the signing-certificate attribute is malformed');
  const fields = first.valueBlock.value;
  let algorithm = v2 ? OID_SHA256 : OID_SHA1;
  let at = 0;
  if (v2 && fields[0] instanceof asn1js.Sequence) {
    algorithm = new pkijs.AlgorithmIdentifier({ schema: fields[0] }).algorithmId;
    at = 1;
  }
  const hash = fields[at];
  if (!(hash instanceof asn1js.OctetString)) return fail('the signing-certificate attribute is malformed');
  const der = new Uint8Array(cert.toSchema().toBER());
  const actual = algorithm === OID_SHA256 ? sha256(der) : algorithm === OID_SHA1 ? sha1(der) : fail(`the signing-certificate attribute uses hash ${algorithm}`);
  if (!bytesEqual(new Uint8Array(hash.valueBlock.valueHexView), actual)) fail(`the signing-certificate attribute does not name the signer's certificate (${subject(cert)})`);
}

/** What a response checked against its request says, its signature not yet verified. */
export interface CheckedTimestamp {
  /** When the authority says it stamped the data (not yet proven: see {@link verifyTimestamp}). */
  readonly genTime: Date;
  /** The token's serial number, lower-case hex. */
  readonly serialNumber: string;
}

/** A response's token, read and checked against the request. */
interface ReadToken {
  signed: pkijs.SignedData;
  tst: pkijs.TSTInfo;
}

/**
 * Check an RFC 3161 time-stamp response against what was asked, before it is kept: the
 * response is one DER TimeStampResp; its status is granted; its token is CMS SignedData of a
 * TSTInfo with one signer; the imprint is the SHA-256 of `data`; the nonce is the request's.
 * Nothing here needs a trusted certificate, so every reply is checked; the signature and the
 * chain to a trusted root are {@link verifyTimestamp}'s.
 * @param response - the DER TimeStampResp
 * @param options - the data that was to be stamped, and the request's nonce
 * @returns what the token says (unverified)
 * @throws ValidateLogsError `TIMESTAMP_INVALID` naming the first check that failed
 */
export function checkTimestampResponse(response: Uint8Array, options: CheckTimestampOptions): CheckedTimestamp {
  const { tst } = readToken(response, options);
  return { genTime: tst.genTime, serialNumber: toHex(new Uint8Array(tst.serialNumber.valueBlock.valueHexView)) };
}

function readToken(response: Uint8Array, options: CheckTimestampOptions): ReadToken {
  let resp: pkijs.TimeStampResp;
  try {
    resp = new pkijs.TimeStampResp({ schema: parseDer(response, 'the response') });
  } catch (cause) {
    if (cause instanceof ValidateLogsError) throw cause;
    return fail('the response is not a TimeStampResp', cause);
  }
  const status = resp.status.status;
  if (status !== pkijs.PKIStatus.granted && status !== pkijs.PKIStatus.grantedWithMods) {
    const text = (resp.status.statusStrings ?? []).map((s) => s.valueBlock.value).join('; ');
    fail(`the authority did not grant it (status ${status}${text ? `: ${text}` : ''})`);
  }
  const token = resp.timeStampToken;
  if (!token || token.contentType !== OID_SIGNED_DATA) fail('the response holds no signed token');
  let signed: pkijs.SignedData;
  let tst: pkijs.TSTInfo;
  try {
    signed = new pkijs.SignedData({ schema: token.content });
    if (signed.encapContentInfo.eContentType !== OID_TST_INFO || !signed.encapContentInfo.eContent) fail('the token does not hold a TSTInfo');
    tst = pkijs.TSTInfo.fromBER(signed.encapContentInfo.eContent.getValue());
  } catch (cause) {
    if (cause instanceof ValidateLogsError) throw cause;
    return fail('the token is not CMS SignedData of a TSTInfo', cause);
  }
  const imprint = tst.messageImprint;
  if (imprint.hashAlgorithm.algorithmId !== OID_SHA256) fail(`the imprint's hash is ${imprint.hashAlgorithm.algorithmId}, not SHA-256`);
  if (!bytesEqual(new Uint8Array(imprint.hashedMessage.valueBlock.valueHexView), sha256(options.data))) fail('the imprint is not the SHA-256 of the data: it stamps other bytes');
  if (options.nonce !== undefined) {
    const got = tst.nonce ? new Uint8Array(tst.nonce.valueBlock.valueHexView) : undefined;
    if (!got || !bytesEqual(got, options.nonce)) fail(`the nonce is ${got ? toHex(got) : 'missing'}, not the request's ${toHex(options.nonce)}`);
  }
  if (signed.signerInfos.length !== 1) fail(`the token has ${signed.signerInfos.length} signers, not one`);
  return { signed, tst };
}

/**
 * Verify an RFC 3161 time-stamp response over `data`, and say when it was stamped.
 *
 * Checked, in order: the response parses; status granted; the token is CMS SignedData of a
 * TSTInfo; the imprint is SHA-256 of `data`; the nonce is the request's; the signer's
 * certificate is in the token, named by the signing-certificate attribute, and has the
 * critical time-stamping extended key usage alone; the CMS signature verifies; the chain from
 * it leads to a trusted certificate, valid at the time stamped.
 *
 * @param response - the DER TimeStampResp
 * @param options - the data, the nonce, the trusted certificate(s)
 * @returns the time stamped and who stamped it
 * @throws ValidateLogsError `TIMESTAMP_INVALID` naming the first check that failed
 * @example
 * ```ts
 * const { request, response } = await requestTimestamp('https://tsa.example/', bytes);
 * const { genTime } = await verifyTimestamp(response, { data: bytes, nonce: request.nonce, trusted: caPem });
 * ```
 */
export async function verifyTimestamp(response: Uint8Array, options: VerifyTimestampOptions): Promise<TimestampInfo> {
  const trusted = parseCertificates(options.trusted);
  const { signed, tst } = readToken(response, options);
  const signerInfo = signed.signerInfos[0]!;
  const sid = signerInfo.sid;
  const cert = (signed.certificates ?? []).find(
    (c): c is pkijs.Certificate => c instanceof pkijs.Certificate && sid instanceof pkijs.IssuerAndSerialNumber && c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber),
  );
  if (!cert) return fail('the signer\'s certificate is not in the token');
  checkSigningCertificate(signerInfo, cert);
  checkKeyUsage(cert);
  let verified: boolean;
  try {
    verified = await signed.verify({ signer: 0, data: buffer(options.data), trustedCerts: trusted, checkChain: true }, engine());
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return fail(/certificate/i.test(message) ? `the signer's certificate (${subject(cert)}) does not chain to a trusted certificate: ${message}` : `the token does not verify: ${message}`, cause);
  }
  if (!verified) fail(`the CMS signature does not verify with the signer's certificate (${subject(cert)})`);
  return { genTime: tst.genTime, serialNumber: toHex(new Uint8Array(tst.serialNumber.valueBlock.valueHexView)), policy: tst.policy, signer: subject(cert) };
}
