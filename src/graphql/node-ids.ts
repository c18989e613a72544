import { InputError } from '../registry/errors.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** findUnique for prismaNode types keyed by a uuid: a malformed id is the client's mistake. */
export function byUuid(typeName: string) {
  return (id: string) => {
    if (!UUID_PATTERN.test(id)) throw new InputError(`malformed ${typeName} id`, [{ path: 'id', message: `not a ${typeName} id` }]);
    return { id };
  };
}
