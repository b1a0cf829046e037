#!/usr/bin/env bash
# End-to-end smoke check of the local Keycloak started by deploy/keycloak/keycloak.sh:
#   1. OIDC discovery document of realm "jit"
#   2. SAML IdP descriptor + signing certificate
#   3. OIDC authorization code flow with PKCE (S256) for client jit-oidc, driven through the
#      real login form with curl; ID token claims + signature (JWKS) checked
#   4. admin REST API: list users of realm jit, change alice's email (and restore it)
#   5. SAML SP-initiated login (HTTP-Redirect AuthnRequest -> login form -> auto-POST form);
#      Response + Assertion signatures, NameID and attributes checked
# Exits non-zero on the first failed check. Needs curl and node (built-ins only; if the repo's
# node_modules has xml-crypto + @xmldom/xmldom, the SAML signatures are verified cryptographically).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
KC="http://127.0.0.1:${JIT_KEYCLOAK_PORT:-8180}"
REALM_URL="$KC/realms/jit"
PUBLIC_URL="${JIT_E2E_PUBLIC_URL:-http://127.0.0.1:18080}"
OIDC_CLIENT=jit-oidc
OIDC_SECRET=jit-oidc-secret
OIDC_REDIRECT="$PUBLIC_URL/sso/kc-oidc/callback"     # matches redirect URI pattern $PUBLIC_URL/sso/*
SAML_SP="$PUBLIC_URL/sso/kc-saml/saml/metadata"
SAML_ACS="$PUBLIC_URL/sso/kc-saml/saml/acs"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [[ -t 1 ]]; then OK=$'\033[32mok\033[0m' BAD=$'\033[31mFAIL\033[0m'; else OK=ok BAD=FAIL; fi
pass() { printf '  %s   %s\n' "$OK" "$*"; }
fail() { printf '  %s %s\n' "$BAD" "$*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

# node helpers (ESM via stdin is awkward with args, so: node -e "$JS" args...)
js() { node --input-type=module -e "$1" _ "${@:2}"; }   # args at process.argv[2..]
urlenc() { js 'console.log(encodeURIComponent(process.argv[2]))' "$1"; }
# extract the Keycloak login form action from an HTML file (HTML entities decoded)
form_action() {
  js '
    import { readFileSync } from "node:fs";
    const html = readFileSync(process.argv[2], "utf8");
    const m = html.match(/<form\b[^>]*\bid="kc-form-login"[^>]*>/) ?? html.match(/<form\b[^>]*login-actions\/authenticate[^>]*>/);
    const a = m && m[0].match(/\baction="([^"]+)"/);
    if (!a) process.exit(1);
    console.log(a[1].replace(/&amp;/g, "&").replace(/&#x3d;/gi, "=").replace(/&#61;/g, "="));
  ' "$1"
}
header() { # header <file> <name>  (last occurrence, CR stripped)
  { grep -i "^$2:" "$1" || true; } | tail -n1 | sed -e "s/^[^:]*: *//" -e 's/\r$//'
}
# any command failing outside a check must not end the script silently
trap 'rc=$?; [[ $rc -ne 0 ]] && printf "  FAIL unexpected error (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR

command -v curl >/dev/null || fail "curl not found"
command -v node >/dev/null || fail "node not found"

# ---------------------------------------------------------------------------------------------
step "1. OIDC discovery ($REALM_URL/.well-known/openid-configuration)"
code="$(curl -s -o "$WORK/disco.json" -w '%{http_code}' "$REALM_URL/.well-known/openid-configuration" || true)"
[[ "$code" == 200 ]] || fail "discovery returned HTTP $code (is Keycloak up? deploy/keycloak/keycloak.sh up)"
eval "$(js '
  import { readFileSync } from "node:fs";
  const d = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const q = (s) => "\x27" + String(s).replace(/\x27/g, "") + "\x27";
  console.log(`ISSUER=${q(d.issuer)} AUTH_EP=${q(d.authorization_endpoint)} TOKEN_EP=${q(d.token_endpoint)} JWKS_URI=${q(d.jwks_uri)} PKCE=${q((d.code_challenge_methods_supported || []).join(","))}`);
' "$WORK/disco.json")"
[[ "$ISSUER" == "$REALM_URL" ]] || fail "issuer is '$ISSUER', expected '$REALM_URL'"
pass "issuer $ISSUER"
pass "authorization_endpoint $AUTH_EP"
pass "token_endpoint $TOKEN_EP"
[[ ",$PKCE," == *",S256,"* ]] || fail "S256 not in code_challenge_methods_supported ($PKCE)"
pass "code_challenge_methods_supported: $PKCE"

# ---------------------------------------------------------------------------------------------
step "2. SAML IdP descriptor ($REALM_URL/protocol/saml/descriptor)"
code="$(curl -s -o "$WORK/descriptor.xml" -w '%{http_code}' "$REALM_URL/protocol/saml/descriptor")"
[[ "$code" == 200 ]] || fail "SAML descriptor returned HTTP $code"
js '
  import { readFileSync, writeFileSync } from "node:fs";
  import { X509Certificate } from "node:crypto";
  const xml = readFileSync(process.argv[2], "utf8");
  const certs = [...xml.matchAll(/<(?:\w+:)?X509Certificate>([^<]+)<\/(?:\w+:)?X509Certificate>/g)].map((m) => m[1].replace(/\s+/g, ""));
  if (!certs.length) { console.error("no X509Certificate in descriptor"); process.exit(1); }
  const pem = "-----BEGIN CERTIFICATE-----\n" + certs[0].match(/.{1,64}/g).join("\n") + "\n-----END CERTIFICATE-----\n";
  const c = new X509Certificate(pem);
  writeFileSync(process.argv[3], pem);
  const sso = [...xml.matchAll(/<(?:\w+:)?SingleSignOnService\b[^>]*Location="([^"]+)"/g)].map((m) => m[1]);
  const entity = (xml.match(/entityID="([^"]+)"/) || [])[1];
  console.log(`entityID=${entity}`);
  console.log(`SingleSignOnService locations: ${[...new Set(sso)].join(", ")}`);
  console.log(`X509Certificate: subject=${c.subject.replace(/\n/g, ",")} validTo=${c.validTo} sha256=${c.fingerprint256} (${certs.length} cert(s))`);
' "$WORK/descriptor.xml" "$WORK/idp-cert.pem" | sed 's/^/  /' || fail "descriptor has no usable signing certificate"
pass "signing certificate extracted"

# ---------------------------------------------------------------------------------------------
step "3. OIDC authorization code flow + PKCE for $OIDC_CLIENT (alice, bob, carol)"
eval "$(js '
  import { randomBytes, createHash } from "node:crypto";
  const b64u = (b) => b.toString("base64url");
  const v = b64u(randomBytes(32));
  console.log(`VERIFIER=${v} CHALLENGE=${b64u(createHash("sha256").update(v).digest())} STATE=${b64u(randomBytes(12))} NONCE=${b64u(randomBytes(12))}`);
')"
RU_ENC="$(urlenc "$OIDC_REDIRECT")"
base_q="client_id=$OIDC_CLIENT&response_type=code&scope=openid%20profile%20email&redirect_uri=$RU_ENC&state=$STATE&nonce=$NONCE"

# negative checks: PKCE is mandatory, foreign redirect URIs are rejected
code="$(curl -s -o "$WORK/nopkce.html" -D "$WORK/h-nopkce" -w '%{http_code}' "$AUTH_EP?$base_q")"
loc="$(header "$WORK/h-nopkce" location)"
if [[ "$code" == 400 && -z "$loc" ]]; then
  fail "redirect_uri $OIDC_REDIRECT is not registered for $OIDC_CLIENT (HTTP 400) - was Keycloak started with the same JIT_E2E_PUBLIC_URL ($PUBLIC_URL)?"
fi
[[ "$loc" == "$OIDC_REDIRECT"*"error=invalid_request"* ]] || fail "request without PKCE was not rejected (HTTP $code, Location: $loc)"
pass "auth request without code_challenge rejected: ${loc#*\?}"
curl -s -o /dev/null -D "$WORK/h-plain" "$AUTH_EP?$base_q&code_challenge=$VERIFIER&code_challenge_method=plain"
loc="$(header "$WORK/h-plain" location)"
[[ "$loc" == "$OIDC_REDIRECT"*"error=invalid_request"* ]] || fail "PKCE method plain was not rejected (Location: $loc)"
pass "auth request with code_challenge_method=plain rejected (client requires S256)"
bad_ru="$(urlenc "http://evil.example/sso/cb")"
code="$(curl -s -o /dev/null -w '%{http_code}' "$AUTH_EP?client_id=$OIDC_CLIENT&response_type=code&scope=openid&redirect_uri=$bad_ru&code_challenge=$CHALLENGE&code_challenge_method=S256")"
[[ "$code" == 400 ]] || fail "foreign redirect_uri not rejected (HTTP $code)"
pass "foreign redirect_uri rejected (HTTP 400)"

curl -s -o "$WORK/jwks.json" "$JWKS_URI"

# oidc_login <user> <password> <redirect_uri> <expected-claims-json>
# full browser-less code flow: fresh PKCE/state/nonce, login form, code from the Location header
# (not followed), token exchange with client secret + code_verifier, ID token signature + claims.
oidc_login() {
  local user="$1" pw="$2" ru="$3" expect="$4" jar="$WORK/oidc-$1.cookies" action loc code
  eval "$(js '
    import { randomBytes, createHash } from "node:crypto";
    const b64u = (b) => b.toString("base64url");
    const v = b64u(randomBytes(32));
    console.log(`VERIFIER=${v} CHALLENGE=${b64u(createHash("sha256").update(v).digest())} STATE=${b64u(randomBytes(12))} NONCE=${b64u(randomBytes(12))}`);
  ')"
  code="$(curl -s -c "$jar" -b "$jar" -o "$WORK/login.html" -w '%{http_code}' \
    "$AUTH_EP?client_id=$OIDC_CLIENT&response_type=code&scope=openid%20profile%20email&redirect_uri=$(urlenc "$ru")&state=$STATE&nonce=$NONCE&code_challenge=$CHALLENGE&code_challenge_method=S256")"
  [[ "$code" == 200 ]] || fail "[$user] authorization endpoint returned HTTP $code"
  action="$(form_action "$WORK/login.html")" || fail "[$user] login form not found in the authorization endpoint HTML"
  curl -s -c "$jar" -b "$jar" -o "$WORK/after-login.html" -D "$WORK/h-login" \
    --data-urlencode "username=$user" --data-urlencode "password=$pw" --data-urlencode credentialId= "$action"
  loc="$(header "$WORK/h-login" location)"
  [[ "$loc" == "$ru?"* ]] || fail "[$user] login did not redirect to $ru (Location: '${loc}'; page: $(grep -o '<title>[^<]*\|kc-page-title">[^<]*' "$WORK/after-login.html" | head -2 | tr '\n' ' '))"
  eval "$(js '
    const u = new URL(process.argv[2]);
    const q = (s) => "\x27" + String(s ?? "").replace(/\x27/g, "") + "\x27";
    console.log(`CODE=${q(u.searchParams.get("code"))} RSTATE=${q(u.searchParams.get("state"))} RISS=${q(u.searchParams.get("iss"))}`);
  ' "$loc")"
  [[ -n "$CODE" ]] || fail "[$user] no code in redirect ($loc)"
  [[ "$RSTATE" == "$STATE" ]] || fail "[$user] state mismatch ($RSTATE != $STATE)"
  pass "[$user] login form at ${action%%\?*} -> 302 to $ru with code (state ok, iss=$RISS)"
  code="$(curl -s -o "$WORK/token.json" -w '%{http_code}' -u "$OIDC_CLIENT:$OIDC_SECRET" \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
    --data-urlencode "redirect_uri=$ru" --data-urlencode "code_verifier=$VERIFIER" "$TOKEN_EP")"
  [[ "$code" == 200 ]] || fail "[$user] token endpoint returned HTTP $code: $(cat "$WORK/token.json")"
  pass "[$user] code exchanged at token endpoint (client_secret_basic + code_verifier)"
  js '
    import { readFileSync } from "node:fs";
    import { createPublicKey, verify } from "node:crypto";
    const [tokFile, jwksFile, iss, aud, nonce, expectJson] = process.argv.slice(2);
    const { id_token } = JSON.parse(readFileSync(tokFile, "utf8"));
    const [h, p, s] = id_token.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const claims = JSON.parse(Buffer.from(p, "base64url"));
    const jwk = JSON.parse(readFileSync(jwksFile, "utf8")).keys.find((k) => k.kid === header.kid);
    const errs = [];
    if (!jwk) errs.push(`kid ${header.kid} not in JWKS`);
    else if (!verify("sha256", Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(s, "base64url")))
      errs.push("ID token signature invalid");
    const show = {};
    for (const k of ["iss", "aud", "azp", "sub", "nonce", "preferred_username", "email", "email_verified", "name", "given_name", "family_name", "groups"]) show[k] = claims[k];
    console.log("  ID token (" + header.alg + ", kid " + header.kid + ") payload: " + JSON.stringify(show));
    const norm = (k, v) => (k === "groups" && Array.isArray(v) ? [...v].sort() : v);
    const expect = { iss, nonce, ...JSON.parse(expectJson) };
    for (const [k, v] of Object.entries(expect))
      if (JSON.stringify(norm(k, claims[k])) !== JSON.stringify(norm(k, v))) errs.push(`${k}=${JSON.stringify(claims[k])}, expected ${JSON.stringify(v)}`);
    if (claims.aud !== aud && !(Array.isArray(claims.aud) && claims.aud.includes(aud))) errs.push(`aud ${claims.aud}`);
    if (errs.length) { console.error("  " + errs.join("\n  ")); process.exit(1); }
  ' "$WORK/token.json" "$WORK/jwks.json" "$ISSUER" "$OIDC_CLIENT" "$NONCE" "$expect" || fail "[$user] ID token checks failed"
  pass "[$user] ID token signature valid (JWKS); claims as expected"
}

oidc_login alice alice-pw "$OIDC_REDIRECT" \
  '{"preferred_username":"alice","email":"alice@example.com","name":"Alice Liddell","given_name":"Alice","family_name":"Liddell","groups":["developers","jira-users"]}'
oidc_login bob bob-pw "$PUBLIC_URL/plugins/servlet/oidc/callback" \
  '{"preferred_username":"bob","email":"bob@example.com","name":"Bob Builder","groups":["jira-users"]}'
# carol has no first/last name: must still log in without a "verify profile" page; no name claims
oidc_login carol carol-pw "$OIDC_REDIRECT" \
  '{"preferred_username":"carol","email":"carol@example.com","groups":["confluence-users"]}'

# ---------------------------------------------------------------------------------------------
step "4. Admin REST API (master realm admin-cli password grant, admin/admin)"
code="$(curl -s -o "$WORK/admin-token.json" -w '%{http_code}' \
  -d grant_type=password -d client_id=admin-cli -d username=admin -d password=admin \
  "$KC/realms/master/protocol/openid-connect/token")"
[[ "$code" == 200 ]] || fail "admin token request returned HTTP $code"
ADMIN_TOKEN="$(js 'import { readFileSync } from "node:fs"; console.log(JSON.parse(readFileSync(process.argv[2], "utf8")).access_token)' "$WORK/admin-token.json")"
auth=(-H "Authorization: Bearer $ADMIN_TOKEN")
pass "admin access token obtained"
code="$(curl -s "${auth[@]}" -o "$WORK/users.json" -w '%{http_code}' "$KC/admin/realms/jit/users?briefRepresentation=false&max=100")"
[[ "$code" == 200 ]] || fail "GET /admin/realms/jit/users returned HTTP $code"
ALICE_ID="$(js '
  import { readFileSync } from "node:fs";
  const users = JSON.parse(readFileSync(process.argv[2], "utf8"));
  for (const u of users) console.error(`  user ${u.username.padEnd(6)} email=${u.email} name=${[u.firstName, u.lastName].filter(Boolean).join(" ") || "-"} displayName=${(u.attributes?.displayName || []).join("|")}`);
  const names = users.map((u) => u.username).sort().join(",");
  if (names !== "alice,bob,carol") { console.error(`  unexpected users: ${names}`); process.exit(1); }
  console.log(users.find((u) => u.username === "alice").id);
' "$WORK/users.json")" || fail "user list of realm jit is not [alice, bob, carol]"
pass "users listed; alice id $ALICE_ID"

set_alice_email() { # fetch the full representation, change email, PUT it back
  curl -s "${auth[@]}" -o "$WORK/alice.json" "$KC/admin/realms/jit/users/$ALICE_ID"
  js '
    import { readFileSync, writeFileSync } from "node:fs";
    const u = JSON.parse(readFileSync(process.argv[2], "utf8"));
    u.email = process.argv[3];
    writeFileSync(process.argv[2], JSON.stringify(u));
  ' "$WORK/alice.json" "$1"
  curl -s "${auth[@]}" -o "$WORK/put.out" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    --data-binary @"$WORK/alice.json" "$KC/admin/realms/jit/users/$ALICE_ID"
}
code="$(set_alice_email alice.changed@example.com)"
[[ "$code" == 204 ]] || fail "PUT alice returned HTTP $code: $(cat "$WORK/put.out")"
curl -s "${auth[@]}" -o "$WORK/alice2.json" "$KC/admin/realms/jit/users/$ALICE_ID"
js '
  import { readFileSync } from "node:fs";
  const u = JSON.parse(readFileSync(process.argv[2], "utf8"));
  console.log(`  alice now: email=${u.email} displayName=${JSON.stringify(u.attributes?.displayName)}`);
  if (u.email !== "alice.changed@example.com") process.exit(1);
  if (u.attributes?.displayName?.[0] !== "Alice Liddell") { console.error("  displayName attribute lost (user profile?)"); process.exit(1); }
' "$WORK/alice2.json" || fail "alice's email change not visible / displayName lost"
pass "alice's email changed via admin API (displayName attribute kept)"
code="$(set_alice_email alice@example.com)"
[[ "$code" == 204 ]] || fail "restoring alice's email returned HTTP $code"
pass "alice's email restored to alice@example.com"

# ---------------------------------------------------------------------------------------------
step "5. SAML SP-initiated login (HTTP-Redirect AuthnRequest, SP $SAML_SP)"
REQ_ID="_$(js 'import { randomBytes } from "node:crypto"; console.log(randomBytes(16).toString("hex"))')"
SAML_REQ="$(js '
  import { deflateRawSync } from "node:zlib";
  const [id, dest, acs, issuer] = process.argv.slice(2);
  const xml = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
    ` ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${dest}"` +
    ` ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" AssertionConsumerServiceURL="${acs}">` +
    `<saml:Issuer>${issuer}</saml:Issuer>` +
    // NameIDPolicy + RequestedAuthnContext as node-saml sends them by default; the client forces
    // the username NameID format anyway
    `<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>` +
    `<samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>` +
    `</samlp:AuthnRequest>`;
  console.log(encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString("base64")));
' "$REQ_ID" "$REALM_URL/protocol/saml" "$SAML_ACS" "$SAML_SP")"
RELAY=relay-$RANDOM
jar="$WORK/saml.cookies"
code="$(curl -s -c "$jar" -b "$jar" -o "$WORK/saml-login.html" -w '%{http_code}' \
  "$REALM_URL/protocol/saml?SAMLRequest=$SAML_REQ&RelayState=$RELAY")"
[[ "$code" == 200 ]] || fail "SAML endpoint returned HTTP $code ($(grep -o '<title>[^<]*' "$WORK/saml-login.html" | head -1))"
action="$(form_action "$WORK/saml-login.html")" || fail "login form not found for the SAML request ($(grep -o 'kc-feedback-text">[^<]*' "$WORK/saml-login.html" | head -1))"
pass "AuthnRequest accepted, login form shown"
code="$(curl -s -c "$jar" -b "$jar" -o "$WORK/saml-post.html" -w '%{http_code}' \
  --data-urlencode username=alice --data-urlencode password=alice-pw --data-urlencode credentialId= "$action")"
[[ "$code" == 200 ]] || fail "SAML login POST returned HTTP $code"
pass "credentials accepted; got the auto-POST page"

js '
  import { readFileSync } from "node:fs";
  import { createRequire } from "node:module";
  const [htmlFile, certFile, acs, sp, reqId, relay, repoRoot] = process.argv.slice(2);
  const html = readFileSync(htmlFile, "utf8");
  const errs = [];
  const form = html.match(/<form\b[^>]*action="([^"]+)"/i);
  const field = (n) => (html.match(new RegExp(`name="${n}"\\s+value="([^"]*)"`)) || html.match(new RegExp(`value="([^"]*)"\\s+name="${n}"`)) || [])[1];
  const b64 = field("SAMLResponse");
  if (!form || !b64) { console.error("  no auto-post form with SAMLResponse"); process.exit(1); }
  const unent = (s) => s.replace(/&#x2f;/gi, "/").replace(/&#x3a;/gi, ":").replace(/&#x3d;/gi, "=").replace(/&amp;/g, "&").replace(/&#43;/g, "+").replace(/&#x2b;/gi, "+");
  const action = unent(form[1]);
  console.log(`  auto-post form action=${action} RelayState=${unent(field("RelayState") ?? "")}`);
  if (action !== acs) errs.push(`form action ${action} != ${acs}`);
  if (unent(field("RelayState") ?? "") !== relay) errs.push("RelayState not echoed");
  const xml = Buffer.from(unent(b64), "base64").toString("utf8");
  const tag = (re) => (xml.match(re) || [])[1];
  // structure: Signature as direct child of Response and of Assertion
  const respSigned = /<(?:\w+:)?Response\b[^>]*>\s*<(?:\w+:)?Issuer\b[^>]*>[^<]*<\/(?:\w+:)?Issuer>\s*<(?:\w+:)?Signature\b/.test(xml);
  const assSigned = /<(?:\w+:)?Assertion\b[^>]*>\s*<(?:\w+:)?Issuer\b[^>]*>[^<]*<\/(?:\w+:)?Issuer>\s*<(?:\w+:)?Signature\b/.test(xml);
  const sigAlgs = [...new Set([...xml.matchAll(/SignatureMethod Algorithm="([^"]+)"/g)].map((m) => m[1]))];
  const status = tag(/<(?:\w+:)?StatusCode\b[^>]*Value="([^"]+)"/);
  const nameId = xml.match(/<(?:\w+:)?NameID\b([^>]*)>([^<]*)</);
  const attrs = {};
  for (const m of xml.matchAll(/<(?:\w+:)?Attribute\b([^>]*)>([\s\S]*?)<\/(?:\w+:)?Attribute>/g)) {
    const name = (m[1].match(/\bName="([^"]+)"/) || [])[1];
    attrs[name] = [...m[2].matchAll(/<(?:\w+:)?AttributeValue\b[^>]*>([^<]*)</g)].map((v) => v[1]);
  }
  const groupAttrCount = [...xml.matchAll(/<(?:\w+:)?Attribute\b[^>]*\bName="groups"/g)].length;
  console.log(`  Response: Destination=${tag(/<(?:\w+:)?Response\b[^>]*Destination="([^"]+)"/)} InResponseTo=${tag(/<(?:\w+:)?Response\b[^>]*InResponseTo="([^"]+)"/)} Status=${status}`);
  console.log(`  signed: Response=${respSigned} Assertion=${assSigned} alg=${sigAlgs.join(",")}`);
  console.log(`  Audience=${tag(/<(?:\w+:)?Audience>([^<]+)</)} NameID=${nameId?.[2]} (${(nameId?.[1].match(/Format="([^"]+)"/) || [])[1]})`);
  console.log(`  attributes: ${JSON.stringify(attrs)}`);
  if (!status?.endsWith(":Success")) errs.push(`status ${status}`);
  if (!respSigned) errs.push("Response is not signed");
  if (!assSigned) errs.push("Assertion is not signed");
  if (!sigAlgs.every((a) => a === "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") || !sigAlgs.length) errs.push(`signature algs ${sigAlgs}`);
  if (tag(/<(?:\w+:)?Response\b[^>]*InResponseTo="([^"]+)"/) !== reqId) errs.push("InResponseTo mismatch");
  if (tag(/<(?:\w+:)?Audience>([^<]+)</) !== sp) errs.push("Audience mismatch");
  if (nameId?.[2] !== "alice") errs.push(`NameID ${nameId?.[2]} != alice`);
  const want = { email: ["alice@example.com"], displayName: ["Alice Liddell"], firstName: ["Alice"], lastName: ["Liddell"] };
  for (const [k, v] of Object.entries(want)) if (JSON.stringify(attrs[k]) !== JSON.stringify(v)) errs.push(`attribute ${k}=${JSON.stringify(attrs[k])}`);
  if ((attrs.groups || []).slice().sort().join(",") !== "developers,jira-users" || groupAttrCount !== 1)
    errs.push(`groups must be ONE Attribute with values developers+jira-users, got ${groupAttrCount} x ${JSON.stringify(attrs.groups)}`);
  // cryptographic check with the descriptor certificate, if the repo deps are installed
  let req;
  try { req = createRequire(repoRoot + "/package.json"); req.resolve("xml-crypto"); req.resolve("@xmldom/xmldom"); } catch { req = null; }
  if (req) {
    const { SignedXml } = req("xml-crypto");
    const { DOMParser } = req("@xmldom/xmldom");
    const doc = new DOMParser().parseFromString(xml, "text/xml");
    const sigs = doc.getElementsByTagNameNS("http://www.w3.org/2000/09/xmldsig#", "Signature");
    const pem = readFileSync(certFile, "utf8");
    let valid = 0;
    for (let i = 0; i < sigs.length; i++) {
      const sx = new SignedXml({ publicCert: pem, getCertFromKeyInfo: () => null });
      sx.loadSignature(sigs[i]);
      try { if (sx.checkSignature(xml)) valid++; else errs.push(`signature ${i} invalid`); } catch (e) { errs.push(`signature ${i}: ${e.message}`); }
    }
    console.log(`  xml-crypto: ${valid}/${sigs.length} signatures valid against the descriptor certificate`);
    if (sigs.length < 2) errs.push("expected 2 signatures (Response + Assertion)");
  } else {
    console.log("  (xml-crypto/@xmldom not installed in the repo: skipped cryptographic signature check)");
  }
  if (errs.length) { console.error("  " + errs.join("\n  ")); process.exit(1); }
' "$WORK/saml-post.html" "$WORK/idp-cert.pem" "$SAML_ACS" "$SAML_SP" "$REQ_ID" "$RELAY" "$REPO_ROOT" \
  || fail "SAML response checks failed"
pass "SAML Response + Assertion signed (RSA-SHA256), NameID alice, attributes email/displayName/firstName/lastName/groups"

printf '\nAll Keycloak checks passed.\n'
