'use strict';
/** G for piscina: the same doubling; `doubleMoved` hands its result back by transfer. */
const { move } = require('piscina');
const { double } = require('./tasks');

exports.double = double;
/** @type {(values: Float64Array) => unknown} */
exports.doubleMoved = (values) => move(double(values));
