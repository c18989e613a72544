/**
 * The baseline for bench:heartbeat: bare graphql-yoga with one trivial mutation, on node:http.
 * `--no-body-stream` turns off yoga's request body limit (a counting stream per request), the
 * one our server replaces with a cheaper equivalent, for a like-for-like reference.
 */
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const yoga = createYoga({
  schema: createSchema({
    typeDefs: 'type Query { hello: String! } type Mutation { hello(name: String!): String! }',
    resolvers: { Query: { hello: () => 'world' }, Mutation: { hello: (_: unknown, args: { name: string }) => `hello ${args.name}` } },
  }),
  logging: false,
  graphiql: false,
  landingPage: false,
  ...(process.argv.includes('--no-body-stream') ? { maxRequestBodySize: false as const } : {}),
});
const server = createServer(yoga);
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ msg: 'listening', port: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
