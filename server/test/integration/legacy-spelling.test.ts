import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { logsOf, requireDocker, run, startTestServer, type TestServer } from '../helpers.js';

/**
 * Scripts written for Cronium's existing runtime helpers (input/output/event) must behave exactly like the
 * same scripts in the preferred spelling (getInput/setOutput/context).
 */
const pairs = {
  python: {
    legacy: `
import cronium
data = cronium.input()
ev = cronium.event()
cronium.setVariable("legacy_python_" + data["tag"], {"seen": data["value"]})
cronium.setCondition(data["value"] > 1)
cronium.output({"value": data["value"] * 10, "prev": cronium.getVariable("legacy_python_" + data["tag"]), "event": {k: ev[k] for k in ("id", "name", "type", "userId")}, "isMe": ev["executionId"] is not None})
`,
    modern: `
import cronium
data = cronium.get_input()
ctx = cronium.context()
ev = dict(ctx["event"] or {}, userId=ctx["userId"])
cronium.set_variable("legacy_python_" + data["tag"], {"seen": data["value"]})
cronium.set_condition(data["value"] > 1)
cronium.set_output({"value": data["value"] * 10, "prev": cronium.get_variable("legacy_python_" + data["tag"]), "event": {k: ev.get(k) for k in ("id", "name", "type", "userId")}, "isMe": ctx["executionId"] is not None})
`,
  },
  node: {
    legacy: `
const cronium = require("cronium");
(async () => {
  const data = await cronium.input();
  const ev = await cronium.event();
  await cronium.setVariable("legacy_node_" + data.tag, { seen: data.value });
  await cronium.setCondition(data.value > 1);
  await cronium.output({ value: data.value * 10, prev: await cronium.getVariable("legacy_node_" + data.tag), event: { id: ev.id, name: ev.name, type: ev.type, userId: ev.userId }, isMe: ev.executionId != null });
})();
`,
    modern: `
import { getInput, setOutput, context, setVariable, getVariable, setCondition } from "cronium";
const data = await getInput();
const ctx = await context();
await setVariable("legacy_node_" + data.tag, { seen: data.value });
await setCondition(data.value > 1);
await setOutput({ value: data.value * 10, prev: await getVariable("legacy_node_" + data.tag), event: { id: ctx.event?.id ?? null, name: ctx.event?.name ?? null, type: ctx.event?.type ?? null, userId: ctx.userId }, isMe: ctx.executionId != null });
`,
  },
  bash: {
    legacy: `
data=$(cronium input)
ev=$(cronium event)
tag=$(jq -r .tag <<<"$data"); v=$(jq .value <<<"$data")
cronium set-variable "legacy_bash_$tag" "$(jq -cn --argjson v "$v" '{seen: $v}')"
cronium set-condition "$( [ "$v" -gt 1 ] && echo true || echo false )"
prev=$(cronium get-variable "legacy_bash_$tag")
cronium output "$(jq -cn --argjson v "$v" --argjson prev "$prev" --argjson ev "$ev" '{value: ($v * 10), prev: $prev, event: {id: $ev.id, name: $ev.name, type: $ev.type, userId: $ev.userId}, isMe: ($ev.executionId != null)}')"
`,
    modern: `
data=$(cronium get-input)
ctx=$(cronium context)
tag=$(jq -r .tag <<<"$data"); v=$(jq .value <<<"$data")
cronium set-variable "legacy_bash_$tag" "$(jq -cn --argjson v "$v" '{seen: $v}')"
cronium set-condition "$( [ "$v" -gt 1 ] && echo true || echo false )"
prev=$(cronium get-variable "legacy_bash_$tag")
cronium set-output "$(jq -cn --argjson v "$v" --argjson prev "$prev" --argjson c "$ctx" '{value: ($v * 10), prev: $prev, event: {id: $c.event.id, name: $c.event.name, type: $c.event.type, userId: $c.userId}, isMe: ($c.executionId != null)}')"
`,
  },
} as const;

describe('coming from Cronium: the legacy SDK spellings', { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer();
  });
  after(async () => s?.stop());

  for (const language of ['python', 'node', 'bash'] as const) {
    it(`${language}: a script in the old spelling matches the same script in the new one`, async () => {
      const event = { id: 'evt-42', name: 'nightly-report', type: 'SCHEDULED' };
      const legacy = await run(s.api, { language, script: pairs[language].legacy, input: { tag: 'old', value: 7 }, event });
      const modern = await run(s.api, { language, script: pairs[language].modern, input: { tag: 'new', value: 7 }, event });
      assert.equal(legacy.status, 'succeeded', JSON.stringify(await logsOf(s.api, legacy.id)));
      assert.equal(modern.status, 'succeeded', JSON.stringify(await logsOf(s.api, modern.id)));
      assert.deepEqual(legacy.output, modern.output);
      assert.deepEqual(legacy.output, {
        value: 70,
        prev: { seen: 7 },
        event: { ...event, userId: legacy.userId },
        isMe: true,
      });
      assert.equal(legacy.condition, true);
      assert.equal(legacy.condition, modern.condition);
      assert.deepEqual(Object.values(legacy.variables), Object.values(modern.variables));
      assert.deepEqual(legacy.event, event);
    });
  }
});
