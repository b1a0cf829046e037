/**
 * saml: SAML responses verified per second on one core by the gateway's ACS path (the posted form
 * read by readPostedResponse, then verifySamlResponse: node-saml's checks of both signatures, time
 * conditions and audience, the consumed InResponseTo, Issuer/Recipient/Destination, the assertion
 * replay cache) against the bare XML-signature verification (xml-crypto checkSignature of the
 * same response's two signatures). Responses are signed with test/fixtures/idp-test.key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import pino from 'pino';
import { SignedXml } from 'xml-crypto';
import { readPostedResponse } from '../services/gateway/saml/inspectResponse.js';
import { SAML_REQUEST_SCOPE, samlAcsUrl, samlSpEntityId } from '../services/gateway/saml/samlConfig.js';
import { verifySamlResponse } from '../services/gateway/saml/verifyResponse.js';
import { startRuntime } from '../services/runtime.js';
import { loadConfig } from '../services/shared/config.js';
import { samlIdp, TEST_IDP_CERT, TEST_IDP_KEY } from '../test/support/fixtures.js';
import { buildResponseXml, randomSamlId, signResponseXml, toBase64 } from '../test/support/samlForge.js';
import { ratioResult, type BenchResult } from './lib/results.js';

export type SamlSettings = { responses: number; profile: boolean; log: (line: string) => void };

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const TARGET = 0.8;

/** What xml-crypto alone does for a response signed twice: find each Signature, load it, check it. */
function bareVerify(xml: string): void {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const signatures = doc.getElementsByTagNameNS(DSIG, 'Signature');
  if (signatures.length !== 2) throw new Error(`expected 2 signatures, found ${signatures.length}`);
  for (let i = 0; i < signatures.length; i++) {
    const sig = new SignedXml({ publicCert: TEST_IDP_CERT });
    sig.loadSignature(signatures.item(i)!);
    if (!sig.checkSignature(xml)) throw new Error('signature did not verify');
  }
}

export async function samlBenchmark(settings: SamlSettings): Promise<BenchResult[]> {
  const { log } = settings;
  const dataDir = mkdtempSync(join(tmpdir(), 'jit-bench-saml-'));
  const idpsFile = join(dataDir, 'idps.json');
  writeFileSync(idpsFile, JSON.stringify([samlIdp({ id: 'okta', 'required-signatures': 'both' })]));
  const config = loadConfig({ JIT_DATA_DIR: dataDir, JIT_ADMIN_TOKENS: 'bench-admin-token-0123456789', JIT_IDPS_FILE: idpsFile, JIT_LOG_LEVEL: 'silent', JIT_SERVICES: 'gateway' });
  const runtime = await startRuntime(config, pino({ level: 'silent' }));
  try {
    const idp = runtime.registry.get('okta')!;
    const acsUrl = samlAcsUrl(idp, config.publicUrl);
    const audience = samlSpEntityId(idp, config.publicUrl);
    let started = performance.now();
    const posted: { body: { SAMLResponse: string; RelayState: string }; xml: string }[] = [];
    for (let i = 0; i < settings.responses; i++) {
      const requestId = randomSamlId();
      await runtime.oneTimeTokens.remember(SAML_REQUEST_SCOPE, requestId, new Date(Date.now() + 3_600_000), JSON.stringify({ idpId: 'okta', returnTo: '/', createdAt: new Date().toISOString() }));
      const xml = signResponseXml(
        buildResponseXml({
          issuer: 'https://idp.example.com/metadata',
          audience,
          recipient: acsUrl,
          destination: acsUrl,
          inResponseTo: requestId,
          nameId: `user${i}@example.com`,
          attributes: { displayName: [`User ${i}`], email: [`user${i}@example.com`], groups: ['jira-users', 'developers', `team-${i % 7}`] },
        }),
        'both',
        { key: TEST_IDP_KEY, cert: TEST_IDP_CERT },
      );
      posted.push({ xml, body: { SAMLResponse: toBase64(xml), RelayState: requestId } });
    }
    log(`signed ${posted.length} responses in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const verify = async (p: (typeof posted)[number]) => {
      const response = readPostedResponse(p.body);
      const verified = await verifySamlResponse(runtime, idp, response, { receivedAt: acsUrl, relayState: response.relayState });
      if (!verified.login.subject) throw new Error('no subject');
    };
    // Warm both paths (JIT, caches) on a few responses before timing.
    const WARM = 20;
    for (const p of posted.slice(0, WARM)) bareVerify(p.xml);
    for (const p of posted.slice(0, WARM)) await verify(p);
    // Timed in alternating rounds of the same responses, so a change in the machine's load hits
    // both paths alike instead of skewing the ratio.
    const ROUND = 20;
    let bareMs = 0;
    let acsMs = 0;
    const timed = posted.slice(WARM);
    for (let i = 0; i < timed.length; i += ROUND) {
      const round = timed.slice(i, i + ROUND);
      started = performance.now();
      for (const p of round) bareVerify(p.xml);
      bareMs += performance.now() - started;
      started = performance.now();
      for (const p of round) await verify(p);
      acsMs += performance.now() - started;
    }
    const bare = timed.length / (bareMs / 1000);
    const acs = timed.length / (acsMs / 1000);
    log(`saml: ACS path ${acs.toFixed(0)}/s, bare xml-crypto ${bare.toFixed(0)}/s (one core)`);
    return [ratioResult('saml', 'responses verified/s, one core', 'responses/s', acs, bare, TARGET, 'signed Response and Assertion (RSA-SHA256)')];
  } finally {
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
