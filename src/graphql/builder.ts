/** The schema builder: plugins and scalars only. Types live in their domain's *.graphql.ts. */
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import { DateTimeResolver, JSONObjectResolver, JSONResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-prisma-types.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';
import { InputError } from '../registry/errors.js';
import type { GraphQLContext } from './context.js';

export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes;
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
  };
}>({
  defaultFieldNullability: false,
  plugins: [ErrorsPlugin, PrismaPlugin, RelayPlugin, DataloaderPlugin],
  prisma: {
    client: (ctx) => ctx.deps.db.client,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    decodeGlobalID: (globalID: string) => {
      const decoded = Buffer.from(globalID, 'base64').toString('utf8');
      const separator = decoded.indexOf(':');
      if (separator <= 0 || separator === decoded.length - 1 || Buffer.from(decoded, 'utf8').toString('base64') !== globalID) {
        throw new InputError(`malformed global id ${JSON.stringify(globalID)}`, [{ path: 'id', message: 'not a global id issued by this API' }]);
      }
      return { typename: decoded.slice(0, separator), id: decoded.slice(separator + 1) };
    },
  },
  errors: { directResult: true },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
