/**
 * Turns the public TaskRefs into the TaskSpecs a child can load.
 */
import { invalidArgument } from '../errors';
import path from 'node:path';
import type { ModuleLocation, TaskSpec } from '../shared/protocol';
import { describe, type AnyFunction, type ModuleTaskRef } from '../task-ref';

let nextSpecId = 1;

/**
 * Turns TaskRefs into TaskSpecs, relative paths against the directory the pool was created in. The same
 * task always gets the same spec, so a child is sent it once and then only its id.
 */
export class TaskResolver {
  readonly #baseDir: string;
  readonly #defaultModule: string | undefined;
  readonly #functions = new WeakMap<AnyFunction, TaskSpec>();
  /** By source text too: an arrow written in a call is a new function object every time. */
  readonly #sources = new Map<string, TaskSpec>();
  /** By module, then export name: no key is built per call, which a tiny call would notice. */
  readonly #modules = new Map<string, Map<string, TaskSpec>>();

  constructor(baseDir: string, defaultModule: string | URL | undefined) {
    this.#baseDir = baseDir;
    this.#defaultModule = defaultModule === undefined ? undefined : this.#resolveModule(defaultModule);
  }

  /** Where the pool's default module is, if it has one. */
  get defaultModule(): ModuleLocation | null {
    return this.#defaultModule === undefined ? null : { module: this.#defaultModule, baseDir: this.#baseDir };
  }

  /** @throws TypeError for something that is not a TaskRef, or a name with no default module to find it in. */
  resolve(ref: unknown, role = 'task'): TaskSpec {
    if (typeof ref === 'string') {
      if (this.#defaultModule === undefined) {
        throw invalidArgument(
          `The ${role} '${ref}' names an export of the pool's default module, but the pool has no \`module\` option. ` +
            `Pass \`module\` to the pool, or name the ${role} as { module, name } or a function.`,
        );
      }
      return this.#moduleSpec(this.#defaultModule, ref);
    }
    if (typeof ref === 'function') return this.#resolveInline(ref as AnyFunction);
    const module = typeof ref === 'object' && ref !== null ? (ref as ModuleTaskRef).module : undefined;
    if (typeof module === 'string' || module instanceof URL) {
      const { name = 'default' } = ref as ModuleTaskRef;
      if (typeof name !== 'string') throw invalidArgument(`The ${role}'s \`name\` must be a string, got ${typeof name}.`);
      return this.#moduleSpec(this.#resolveModule(module), name);
    }
    throw invalidArgument(
      `Expected the ${role} to be an export name, { module, name } or a function, got ${describe(ref)}.`,
    );
  }

  #resolveInline(fn: AnyFunction): TaskSpec {
    let spec = this.#functions.get(fn);
    if (spec === undefined) {
      const source = Function.prototype.toString.call(fn);
      if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
        throw invalidArgument(
          `The task ${fn.name || '(anonymous)'} is a native or bound function, which has no source to ship to a child. ` +
            'Wrap it in a self-contained function, or export it from a module.',
        );
      }
      spec = this.resolveSource(source, fn.name);
      this.#functions.set(fn, spec);
    }
    return spec;
  }

  /** A self-contained function from its source text: what an inline task is, once it has crossed to a host. */
  resolveSource(source: string, name: string): TaskSpec {
    let spec = this.#sources.get(source);
    if (spec === undefined) {
      spec = { id: nextSpecId++, kind: 'inline', source, name };
      this.#sources.set(source, spec);
    }
    return spec;
  }

  #moduleSpec(module: string, name: string): TaskSpec {
    let byName = this.#modules.get(module);
    if (byName === undefined) this.#modules.set(module, (byName = new Map()));
    let spec = byName.get(name);
    if (spec === undefined) {
      spec = { id: nextSpecId++, kind: 'module', module, name, baseDir: this.#baseDir };
      byName.set(name, spec);
    }
    return spec;
  }

  /** @throws TypeError for a URL the children cannot load from (not `file:`). */
  #resolveModule(module: string | URL): string {
    if (module instanceof URL) {
      if (module.protocol !== 'file:') {
        throw invalidArgument(`A task module must be a file; ${module.href} is not a file: URL.`);
      }
      return module.href;
    }
    if (path.isAbsolute(module) || module.startsWith('file:')) return module;
    if (module.startsWith('.')) return path.resolve(this.#baseDir, module);
    return module; // a package name: the child resolves it from baseDir
  }
}
