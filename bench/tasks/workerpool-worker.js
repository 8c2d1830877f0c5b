'use strict';
/** workerpool's children run a script that registers its functions. */
const workerpool = require('workerpool');

workerpool.worker(require('./tasks'));
