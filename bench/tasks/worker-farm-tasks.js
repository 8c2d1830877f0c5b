'use strict';
/**
 * The tasks of tasks.js in worker-farm's calling convention: the last argument is a Node-style callback.
 */
const tasks = require('./tasks');

for (const [name, task] of Object.entries(tasks)) {
  exports[name] = (arg, callback) => {
    let result;
    try {
      result = task(arg);
    } catch (error) {
      callback(error);
      return;
    }
    if (result instanceof Promise) result.then((value) => callback(null, value), callback);
    else callback(null, result);
  };
}
