'use strict';
/**
 * The baseline: a child forked by hand, answering each `[id, task, arg]` message with `[id, result]`. No
 * queue, no pull loop, no error handling: what any pool over fork() + process.send costs at the least.
 */
const tasks = require('./tasks');

process.on('message', ([id, name, arg]) => {
  const result = tasks[name](arg);
  if (result instanceof Promise) result.then((value) => process.send([id, value]));
  else process.send([id, result]);
});
