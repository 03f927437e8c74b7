#!/usr/bin/env node
'use strict';
// Streams one guarded answer: the committed text goes to stdout as it arrives (then a newline), and one JSON
// line with the outcome goes to stderr, so that stdout is exactly the answer. Exit 1 on a gRPC error, 2 on usage.

const { parseArgs } = require('node:util');
const { InferenceGuardClient, GrpcStatusError } = require('./client');

// TLS and the API key come from INFERENCEGUARD_* variables (see InferenceGuardClient.fromEnvironment);
// --api-key is kept for local tests, but a key on the command line shows in `ps`.
const USAGE =
  'usage: stream.js --server HOST:PORT [--api-key KEY] [--seed N] [--max-new-tokens N] [--policy ID]... PROMPT';

function parse(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      'api-key': { type: 'string' },
      seed: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      policy: { type: 'string', multiple: true, default: [] },
    },
  });
  if (!values.server || positionals.length !== 1) throw new Error(USAGE);
  // Integers only; the server checks the ranges and names the field when one is out of range.
  const integer = (flag) => {
    if (values[flag] === undefined) return undefined;
    if (!/^\d+$/.test(values[flag])) throw new Error(`--${flag}: expected a non-negative integer, got ${values[flag]}`);
    return values[flag];
  };
  const maxNewTokens = integer('max-new-tokens');
  return {
    server: values.server,
    apiKey: values['api-key'],
    prompt: positionals[0],
    seed: integer('seed'),
    maxNewTokens: maxNewTokens === undefined ? undefined : Number(maxNewTokens),
    policies: values.policy,
  };
}

async function main() {
  let args;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`stream.js: ${error.message}\n`);
    return 2;
  }
  const client = InferenceGuardClient.fromEnvironment(args.server);
  if (args.apiKey) client.metadata.set('authorization', `Bearer ${args.apiKey}`);
  const request = InferenceGuardClient.request(args.prompt, args);
  const parts = [];
  let start;
  let finish;
  try {
    for await (const message of client.generateStream(request)) {
      if (message.event === 'start') start = message;
      if (message.event === 'chunk') {
        parts.push(message.chunk.text);
        process.stdout.write(message.chunk.text);
      }
      if (message.event === 'finish') finish = message.finish;
    }
  } catch (error) {
    if (!(error instanceof GrpcStatusError)) throw error;
    process.stderr.write(`stream.js: ${error.codeName}: ${error.details}\n`);
    return 1;
  } finally {
    client.close();
  }
  process.stdout.write('\n');
  if (!start || !finish) {
    process.stderr.write('stream.js: the stream ended without its start or finish message\n');
    return 1;
  }
  const summary = {
    request_id: start.request_id,
    finish_reason: finish.reason.replace(/^FINISH_REASON_/, ''),
    text: parts.join(''),
    tokens: finish.usage.completion_tokens,
    policies: start.start.policies.map((policy) => policy.id),
    seed: finish.seed,
    within_budget: finish.safety.within_budget,
  };
  process.stderr.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

main().then((code) => {
  process.exitCode = code;
});
