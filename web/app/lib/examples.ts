import type { Language } from './types';

/** Starter scripts for the Run page: each reads its input, logs, keeps a counter variable and sets an output with the SDK. */
export const EXAMPLES: Record<Language, string> = {
  python: `# Reads the input, logs a few lines, counts its runs in a variable
# and sets a JSON output. Secrets: cronium.get_secret("NAME").
import time
import cronium

data = cronium.get_input() or {}
name = data.get("name", "world")
ctx = cronium.context()
print(f"Hello, {name}! This is execution {ctx['executionId']}.")

runs = (cronium.get_variable("starter.runs") or 0) + 1
cronium.set_variable("starter.runs", runs)

for step in range(1, 4):
    print(f"step {step} of 3")
    time.sleep(0.5)

cronium.set_output({"greeting": f"Hello, {name}!", "runs": runs})
cronium.set_condition(runs % 2 == 0)
`,
  node: `// Reads the input, logs a few lines, counts its runs in a variable
// and sets a JSON output. Secrets: await cronium.getSecret("NAME").
import cronium from "cronium";

const input = (await cronium.getInput()) ?? {};
const name = input.name ?? "world";
const ctx = await cronium.context();
console.log(\`Hello, \${name}! This is execution \${ctx.executionId}.\`);

const runs = ((await cronium.getVariable("starter.runs")) ?? 0) + 1;
await cronium.setVariable("starter.runs", runs);

for (let step = 1; step <= 3; step++) {
  console.log(\`step \${step} of 3\`);
  await new Promise((resolve) => setTimeout(resolve, 500));
}

await cronium.setOutput({ greeting: \`Hello, \${name}!\`, runs });
await cronium.setCondition(runs % 2 === 0);
`,
  bash: `#!/usr/bin/env bash
# Reads the input, logs a few lines, counts its runs in a variable
# and sets a JSON output. Secrets: cronium get-secret NAME
set -euo pipefail

input=$(cronium get-input)
name=$(jq -r '.name // "world"' <<<"$input")
ctx=$(cronium context)
echo "Hello, $name! This is execution $(jq -r .executionId <<<"$ctx")."

runs=$(cronium get-variable starter.runs)
runs=$(jq -n --argjson r "$runs" '($r // 0) + 1')
cronium set-variable starter.runs "$runs"

for step in 1 2 3; do
  echo "step $step of 3"
  sleep 0.5
done

jq -n --arg g "Hello, $name!" --argjson runs "$runs" '{greeting: $g, runs: $runs}' | cronium set-output
if (( runs % 2 == 0 )); then cronium set-condition true; else cronium set-condition false; fi
`,
};

export const EXAMPLE_INPUT = `{
  "name": "Ada"
}`;

/** True when the script is empty or one of the starters, so switching the language may replace it. */
export function isStarterOrEmpty(script: string): boolean {
  const s = script.replace(/\r\n/g, '\n').trim();
  return !s || Object.values(EXAMPLES).some((e) => e.trim() === s);
}
