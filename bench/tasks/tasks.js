'use strict';
/**
 * The tasks every pool under test runs. Plain CommonJS, with no dependencies beyond Node's own modules, so
 * that the children of every pool load it the same way and in the same time.
 */
const fs = require('node:fs');
const zlib = require('node:zlib');

/** A: as little work as a task can be. */
function tiny(x) {
  return x + 1;
}

/**
 * B: a fixed amount of CPU work (a linear congruential generator, which nothing can optimise away). The
 * iteration count is calibrated once per run; a fixed count, unlike a busy-wait on the clock, takes longer
 * when the CPU is shared, as real work does.
 */
function cpu(iterations) {
  let x = 1;
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x;
}

/** forkpool's `forkpool/task`, loaded by the first task that emits: no other task, and no other pool, loads it. */
let emit;

/** A-emit: the tiny task, after sending one event to its pool (forkpool only: the other pools have no emit). */
function tinyEmit(x) {
  emit ??= require('../../dist/task.cjs').emit;
  emit(x);
  return x + 1;
}

/** C: send the argument back. */
function echo(value) {
  return value;
}

/**
 * C-move: send the argument, an ArrayBuffer moved here, back by moving it again, in each pool's own way:
 * forkpool's transfer(), piscina's and tinypool's move(). Each pool's helper loads with its first call.
 */
let transfer;
function moveBack(buffer) {
  transfer ??= require('../../dist/task.cjs').transfer;
  return transfer(buffer, [buffer]);
}

/** @param {ArrayBuffer} buffer @returns {unknown} */
function moveBackPiscina(buffer) {
  return require('piscina').move(buffer);
}

/** @param {ArrayBuffer} buffer @returns {unknown} */
function moveBackTinypool(buffer) {
  return require('tinypool').Tinypool.move(buffer);
}

/** The real workload: compress one file at gzip's highest level; the compressed size comes back. */
function gzipFile(file) {
  return zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;
}

/** Warm-up and idle checks: hold a child for a moment. */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(() => resolve(ms), ms));
}

/** G: each value doubled, in a new Float64Array (a big-data round trip). */
function double(values) {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = 2 * values[i];
  return out;
}

/**
 * The cluster's recovery: on its first run, write this child's pid to `file` and never finish (its host is
 * killed meanwhile); on a later run, on another host, return that pid at once.
 */
function stallOnce(file) {
  if (fs.existsSync(file)) return Number(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, String(process.pid));
  return new Promise(() => {});
}

module.exports = { tiny, tinyEmit, cpu, echo, moveBack, moveBackPiscina, moveBackTinypool, gzipFile, sleep, double, stallOnce };
