import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorFromBody } from '../app/lib/api.server';
import { EGRESS_RULE_FIELDS, RUN_FIELDS, SETTINGS_FIELDS, apiErrorToForm, fieldMessage, formFieldFor } from '../app/lib/errors';

describe('API error → form field', () => {
  it('maps API field paths to form fields, falling back to dotted prefixes', () => {
    assert.equal(formFieldFor('timeoutMs', RUN_FIELDS), 'timeout');
    assert.equal(formFieldFor('resources.memoryMb', RUN_FIELDS), 'memoryMb');
    assert.equal(formFieldFor('env.MY_VAR', RUN_FIELDS), 'env');
    assert.equal(formFieldFor('egress.allow.2', RUN_FIELDS), 'egress');
    assert.equal(formFieldFor('secrets.0', RUN_FIELDS), 'secrets');
    assert.equal(formFieldFor('defaultLimits.timeoutMs', SETTINGS_FIELDS), 'defaultLimits.timeout', 'the form takes seconds');
    assert.equal(formFieldFor('maxLimits.cpus', SETTINGS_FIELDS), 'maxLimits.cpus');
    assert.equal(formFieldFor('wait', RUN_FIELDS), null);
    assert.equal(formFieldFor(undefined, RUN_FIELDS), null);
    assert.equal(formFieldFor('toString', RUN_FIELDS), null, 'no prototype keys');
  });
  it('drops the "field: " prefix next to the field', () => {
    assert.equal(fieldMessage({ code: 'VALIDATION_FAILED', message: 'timeoutMs: must be positive', field: 'timeoutMs' }), 'must be positive');
    assert.equal(fieldMessage({ code: 'SECRET_NOT_FOUND', message: 'unknown secret: X', field: 'secrets' }), 'unknown secret: X');
  });
  it('puts a field error next to its field, anything else above the form', () => {
    assert.deepEqual(apiErrorToForm({ code: 'VALIDATION_FAILED', message: 'resources.memoryMb: must be at least 16', field: 'resources.memoryMb' }, RUN_FIELDS), {
      fieldErrors: { memoryMb: 'must be at least 16' },
      formError: null,
    });
    assert.deepEqual(apiErrorToForm({ code: 'VALIDATION_FAILED', message: 'pattern: not a host pattern', field: 'pattern' }, EGRESS_RULE_FIELDS), {
      fieldErrors: { pattern: 'not a host pattern' },
      formError: null,
    });
    assert.deepEqual(apiErrorToForm({ code: 'EXECUTION_DISABLED', message: 'executions are disabled by the administrator' }, RUN_FIELDS), {
      fieldErrors: {},
      formError: 'executions are disabled by the administrator',
    });
    assert.deepEqual(apiErrorToForm({ code: 'QUEUE_FULL', message: '' }, RUN_FIELDS).formError, 'the API answered QUEUE_FULL');
  });
  it('reads the API error body, or describes a body that is not one', () => {
    assert.deepEqual(errorFromBody(400, '{"error":{"code":"VALIDATION_FAILED","message":"name: bad","field":"name"}}'), {
      code: 'VALIDATION_FAILED',
      message: 'name: bad',
      field: 'name',
    });
    assert.deepEqual(errorFromBody(403, '{"error":{"message":"no"}}'), { code: 'HTTP_403', message: 'no' });
    assert.deepEqual(errorFromBody(502, '<html>Bad gateway</html>'), { code: 'HTTP_502', message: 'the API answered 502: <html>Bad gateway</html>' });
    assert.deepEqual(errorFromBody(500, ''), { code: 'HTTP_500', message: 'the API answered 500' });
  });
});
