'use strict';
// A small Node.js client for the InferenceGuard gRPC API. The messages are loaded from proto/ at run time,
// so there is no generated code to keep in step with the .proto files.

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.resolve(__dirname, '../../proto');
// control.proto too, so that callers find api.ControlService next to api.InferenceService
const PROTO_FILES = ['inferenceguard/v1/inference.proto', 'inferenceguard/v1/control.proto'];

// keepCase: field names as in the .proto (request_id, not requestId); longs as strings so that uint64 seeds
// survive JSON; enums as names; oneofs: each message says in `event` which of start/chunk/finish it carries.
const definition = protoLoader.loadSync(PROTO_FILES, {
  includeDirs: [PROTO_ROOT],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const api = grpc.loadPackageDefinition(definition).inferenceguard.v1;

/**
 * @typedef {{seed?: number | string, maxNewTokens?: number, policies?: string[], requestId?: string}} RequestOptions
 * @typedef {{request_id: string, event: 'start' | 'chunk' | 'finish', start?: any, chunk?: any, finish?: any}} Event
 */

/** A failed RPC: `codeName` is the gRPC status name (e.g. INVALID_ARGUMENT), `details` the server's message. */
class GrpcStatusError extends Error {
  /** @param {grpc.ServiceError} error */
  constructor(error) {
    const codeName = grpc.status[error.code] ?? String(error.code);
    super(`${codeName}: ${error.details}`);
    this.name = 'GrpcStatusError';
    this.code = error.code;
    this.codeName = codeName;
    this.details = error.details;
    this.metadata = error.metadata;
  }
}

// Round robin over every address the target resolves to (a headless Service's pods). A request a draining server
// refused with UNAVAILABLE started nothing and is safe to send again (to another replica).
const SERVICE_CONFIG = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

class InferenceGuardClient {
  /**
   * @param {string} target HOST:PORT
   * @param {{apiKey?: string, credentials?: grpc.ChannelCredentials}} [options]
   */
  constructor(target, { apiKey, credentials = grpc.credentials.createInsecure(), channelOptions = {} } = {}) {
    const options = { 'grpc.service_config': SERVICE_CONFIG, ...channelOptions };
    this.inference = new api.InferenceService(target, credentials, options);
    this.metadata = new grpc.Metadata();
    if (apiKey) this.metadata.set('authorization', `Bearer ${apiKey}`);
  }

  /**
   * A client configured like the server's own tools, from INFERENCEGUARD_* variables: TLS when
   * INFERENCEGUARD_TLS_CA or a client certificate is set (INFERENCEGUARD_TLS_CLIENT_CERT and _KEY, for mutual TLS;
   * INFERENCEGUARD_TLS_SERVER_NAME when the certificate names another host), and the API key from
   * INFERENCEGUARD_API_KEY_FILE or INFERENCEGUARD_API_KEY. Files, so that no secret shows in `ps`.
   * @param {string} target HOST:PORT
   * @param {Record<string, string | undefined>} [env]
   */
  static fromEnvironment(target, env = process.env) {
    const read = (name) => (env[name] ? fs.readFileSync(env[name]) : null);
    const [roots, key, chain] = ['TLS_CA', 'TLS_CLIENT_KEY', 'TLS_CLIENT_CERT'].map((n) => read(`INFERENCEGUARD_${n}`));
    if (Boolean(key) !== Boolean(chain)) {
      throw new Error('a client certificate needs INFERENCEGUARD_TLS_CLIENT_CERT and INFERENCEGUARD_TLS_CLIENT_KEY');
    }
    const tls = roots || chain;
    const credentials = tls ? grpc.credentials.createSsl(roots, key, chain) : grpc.credentials.createInsecure();
    const name = env.INFERENCEGUARD_TLS_SERVER_NAME;
    const channelOptions = tls && name ? { 'grpc.ssl_target_name_override': name } : {};
    const keyFile = read('INFERENCEGUARD_API_KEY_FILE');
    const apiKey = keyFile ? keyFile.toString('utf8').trim() : env.INFERENCEGUARD_API_KEY;
    return new InferenceGuardClient(target, { apiKey, credentials, channelOptions });
  }

  /**
   * A GenerateRequest; unset options take the server's defaults.
   * @param {string} prompt
   * @param {RequestOptions} [options]
   */
  static request(prompt, { seed, maxNewTokens, policies = [], requestId = '' } = {}) {
    /** @type {Record<string, any>} */
    const request = { prompt, request_id: requestId, safety: { policy_ids: policies } };
    if (seed !== undefined) request.sampling = { seed: String(seed) };
    if (maxNewTokens !== undefined) request.stopping = { max_new_tokens: maxNewTokens };
    return request;
  }

  /**
   * Streams one guarded answer: a `start` event, `chunk`s of committed text, then `finish`.
   * Throws GrpcStatusError when the RPC fails; leaving the loop early cancels the RPC.
   * @param {Record<string, any>} request
   * @param {{deadlineMs?: number}} [options]
   * @returns {AsyncGenerator<Event>}
   */
  async *generateStream(request, { deadlineMs } = {}) {
    const callOptions = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
    const call = this.inference.GenerateStream(request, this.metadata, callOptions);
    try {
      for await (const message of call) yield message;
    } catch (error) {
      throw error?.code === undefined ? error : new GrpcStatusError(error);
    } finally {
      call.cancel();
    }
  }

  close() {
    this.inference.close();
  }
}

module.exports = { InferenceGuardClient, GrpcStatusError, api };
