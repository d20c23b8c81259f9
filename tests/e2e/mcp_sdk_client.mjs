// A driver for `avenor mcp` built on the OFFICIAL MCP TypeScript SDK client
// (@modelcontextprotocol/sdk, pinned in scripts/install-peers.sh, installed in
// <peers>/node_modules).
// It only performs steps and reports what happened; the Python test decides and asserts.
//
//   node mcp_sdk_client.mjs                 steps as JSON lines on stdin, one result line per step
//   node mcp_sdk_client.mjs '[step, ...]'   the steps as one JSON list in argv, then exit
//
// Each result is one JSON line {op, ok, elapsed_ms, ...}; a failed step has ok:false and
// error {name, code, message, data}. Errors the transport reported on its own (client.onerror,
// e.g. a failed SSE GET) since the previous step are in transport_errors.
//
// Steps:
//   {op:"connect", transport:"stdio", command, args:[], cwd?, stderr_file?}
//        env: the driver's own environment, whole (the SDK's default would drop most of it)
//        -> server_version, capabilities, instructions, pid
//   {op:"connect", transport:"http", url, headers:{}}           -> server_version, ...
//   {op:"listTools"}                                            -> tools
//   {op:"callTool", name, arguments, timeout_ms?, progress?}    -> result, progress:[params]
//        progress:true passes onprogress, so the SDK sends params._meta.progressToken
//   {op:"ping"}
//   {op:"validateSchemas", samples:{tool:{valid:[args], invalid:[args]}}}
//        compiles every listed tool's inputSchema with ajv (2020-12 dialect, meta-validated,
//        strict)
//        -> schemas:{tool:{compile_error, strict_error, valid:[{ok, errors}], invalid:[...]}}
//   {op:"parallel", steps:[...]}                                -> results:[...] (run concurrently)
//   {op:"close"}                            -> exit:{code, signal} of a stdio child (or null)
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const peers = process.env.AVENOR_PEERS_DIR || path.resolve(here, '..', '..', '.peers');
const modules = path.join(peers, 'node_modules');
const load = rel => import(pathToFileURL(path.join(modules, rel)).href);

const sdk = '@modelcontextprotocol/sdk/dist/esm';
const { Client } = await load(`${sdk}/client/index.js`);
const { StdioClientTransport } = await load(`${sdk}/client/stdio.js`);
const { StreamableHTTPClientTransport } = await load(`${sdk}/client/streamableHttp.js`);
const Ajv2020 = (await load('ajv/dist/2020.js')).default;

let client = null;
let transport = null;
let child = null; // {exit: Promise<{code, signal}>} of a stdio server
let tools = null;
let transportErrors = [];

function describeError(e) {
  return {
    name: e?.constructor?.name ?? typeof e,
    code: e?.code ?? null,
    message: String(e?.message ?? e),
    data: e?.data ?? null,
  };
}

async function connect(step) {
  client = new Client({ name: 'avenor-e2e-sdk', version: '1.0.0' }, { capabilities: {} });
  client.onerror = e => transportErrors.push(describeError(e));
  if (step.transport === 'http') {
    transport = new StreamableHTTPClientTransport(new URL(step.url), {
      requestInit: { headers: step.headers ?? {} },
    });
  } else {
    const stderr = step.stderr_file ? fs.openSync(step.stderr_file, 'a') : 'inherit';
    transport = new StdioClientTransport({
      command: step.command,
      args: step.args ?? [],
      cwd: step.cwd,
      env: { ...process.env },
      stderr,
    });
  }
  await client.connect(transport);
  if (step.transport !== 'http') {
    const proc = transport._process; // the SDK keeps the child here; exit status only
    child = {
      exit: new Promise(resolve => {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          resolve({ code: proc.exitCode, signal: proc.signalCode });
        } else {
          proc.once('exit', (code, signal) => resolve({ code, signal }));
        }
      }),
    };
  }
  return {
    server_version: client.getServerVersion() ?? null,
    capabilities: client.getServerCapabilities() ?? null,
    instructions: client.getInstructions() ?? null,
    pid: transport.pid ?? null,
  };
}

function compileSchemas(samples) {
  const out = {};
  for (const tool of tools ?? []) {
    const entry = { compile_error: null, strict_error: null, valid: [], invalid: [] };
    out[tool.name] = entry;
    let validate = null;
    try {
      validate = new Ajv2020({ strict: false, validateSchema: true, allErrors: true }).compile(
        tool.inputSchema,
      );
    } catch (e) {
      entry.compile_error = String(e.message ?? e);
      continue;
    }
    try {
      new Ajv2020({ strict: true, validateSchema: true }).compile(tool.inputSchema);
    } catch (e) {
      entry.strict_error = String(e.message ?? e);
    }
    const cases = samples?.[tool.name] ?? {};
    for (const kind of ['valid', 'invalid']) {
      for (const args of cases[kind] ?? []) {
        const ok = validate(args);
        entry[kind].push({ args, ok, errors: ok ? null : validate.errors });
      }
    }
  }
  return out;
}

async function perform(step) {
  switch (step.op) {
    case 'connect':
      return connect(step);
    case 'listTools': {
      const r = await client.listTools();
      tools = r.tools;
      return { tools: r.tools };
    }
    case 'callTool': {
      const progress = [];
      const options = { timeout: step.timeout_ms ?? 120000 };
      if (step.progress) options.onprogress = p => progress.push({ ...p, at_ms: Date.now() });
      const result = await client.callTool(
        { name: step.name, arguments: step.arguments ?? {} },
        undefined,
        options,
      );
      return { result, progress };
    }
    case 'ping':
      await client.ping();
      return {};
    case 'validateSchemas':
      if (!tools) tools = (await client.listTools()).tools;
      return { schemas: compileSchemas(step.samples) };
    case 'parallel':
      return { results: await Promise.all((step.steps ?? []).map(run)) };
    case 'close': {
      await client.close();
      const status = child
        ? await Promise.race([child.exit, new Promise(r => setTimeout(() => r(null), 10000))])
        : null;
      client = null;
      return { exit: status };
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(step.op)}`);
  }
}

async function run(step) {
  const started = Date.now();
  const base = { op: step.op, tag: step.tag ?? null };
  try {
    const r = await perform(step);
    return { ...base, ok: true, elapsed_ms: Date.now() - started, started_ms: started, ...r };
  } catch (e) {
    return { ...base, ok: false, elapsed_ms: Date.now() - started, started_ms: started,
             error: describeError(e) };
  }
}

async function emit(step) {
  const r = await run(step);
  r.transport_errors = transportErrors;
  transportErrors = [];
  process.stdout.write(JSON.stringify(r) + '\n');
}

if (process.argv.length > 2) {
  for (const step of JSON.parse(process.argv[2])) await emit(step);
} else {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let step;
    try {
      step = JSON.parse(line);
    } catch (e) {
      process.stdout.write(JSON.stringify({ ok: false, error: describeError(e) }) + '\n');
      continue;
    }
    await emit(step);
  }
}
if (client) await client.close().catch(() => {});
process.exit(0);
