/**
 * The gRPC baseline of the RPC benchmark (issue 6): @grpc/grpc-js serving `Echo` (a 64-byte `bytes` field in,
 * the same out) on loopback, and its client. Run as a child process: `node rpc-grpc.js serve` prints
 * `grpc listening on tcp://127.0.0.1:PORT`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO = `
syntax = "proto3";
package bench;
message EchoRequest { bytes data = 1; }
message EchoReply { bytes data = 1; }
service Bench { rpc Echo (EchoRequest) returns (EchoReply); }
`;

type EchoCall = grpc.ServerUnaryCall<{ data: Buffer }, { data: Buffer }>;

/** The Bench service's definition, loaded from the proto text above. */
function loadService(): grpc.GrpcObject {
  const dir = mkdtempSync(join(tmpdir(), "wharf-grpc-"));
  try {
    const file = join(dir, "bench.proto");
    writeFileSync(file, PROTO);
    const definition = protoLoader.loadSync(file, { keepCase: true, longs: Number, defaults: false });
    return grpc.loadPackageDefinition(definition).bench as grpc.GrpcObject;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A unary client: `echo(data)` resolves the reply's bytes. */
export interface GrpcEchoClient {
  echo(data: Buffer): Promise<Buffer>;
  close(): void;
}

export async function grpcClient(port: number): Promise<GrpcEchoClient> {
  const Bench = loadService().Bench as grpc.ServiceClientConstructor;
  const client = new Bench(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
  const method = (client as unknown as { Echo: (req: { data: Buffer }, cb: (err: grpc.ServiceError | null, reply: { data: Buffer }) => void) => void }).Echo.bind(client);
  return {
    echo: (data) => new Promise((resolve, reject) => method({ data }, (err, reply) => (err ? reject(err) : resolve(reply.data)))),
    close: () => client.close(),
  };
}

async function serve(): Promise<void> {
  const Bench = loadService().Bench as grpc.ServiceClientConstructor;
  const server = new grpc.Server();
  server.addService(Bench.service, {
    Echo: (call: EchoCall, callback: grpc.sendUnaryData<{ data: Buffer }>) => callback(null, { data: call.request.data }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  process.stdout.write(`grpc listening on tcp://127.0.0.1:${port}\n`);
  process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "serve") await serve();
