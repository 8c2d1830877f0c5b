/**
 * The depth check on what goes to a child under 'advanced' serialization: argument lists of a few
 * primitives take a shortcut, and nothing deep may slip through it.
 */
import { findTooDeep, MAX_CLONE_DEPTH } from '../src/shared/sendable';

const nestedArrays = (depth: number): unknown[] => {
  const root: unknown[] = [];
  let at = root;
  for (let i = 0; i < depth; i++) at.push((at = []));
  return root;
};

describe('findTooDeep', () => {
  test('passes argument lists of primitives, and lists of such lists', () => {
    expect(findTooDeep([1, 'two', null, undefined, true, 3n], 'arguments')).toBeUndefined();
    expect(findTooDeep([[1], [2, 3], []], 'arguments')).toBeUndefined();
    expect(findTooDeep(nestedArrays(MAX_CLONE_DEPTH), 'arguments')).toBeUndefined();
  });

  test('refuses deep values inside argument lists, at any position and any length', () => {
    const deep = nestedArrays(MAX_CLONE_DEPTH + 5);
    for (const args of [deep, [deep], [1, 2, deep], [[1, deep]], [...Array.from({ length: 20 }, () => 0), deep]]) {
      expect(findTooDeep(args, 'arguments')).toMatch(/arguments is nested more than 1000 levels deep/);
    }
  });

  test('an array proxy whose traps throw is left to the serializer, which reports it', () => {
    const hostile = new Proxy([1], {
      get() {
        throw new Error('the trap went off');
      },
    });
    expect(findTooDeep(hostile, 'arguments')).toBeUndefined();
    expect(findTooDeep([hostile], 'arguments')).toBeUndefined();
  });
});
