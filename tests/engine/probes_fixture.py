"""A probes/ folder for engine tests: the shipped prelude, system_info and scheduler_detect, plus small
test probes whose scripts echo what they received (they use registered parsers, so no fake output).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from clustermax.resources import probes_dir

ECHO_PROBE = """\
id: echo_params
title: Echo parameters (test probe)
description: Prints its CMX_* variables, touches nothing.
category: system
scope: host
timeout_s: 20
parser: system_info
params:
  text: {type: str, default: "plain", description: any text}
  count: {type: int, default: 1, description: any int}
  flag: {type: bool, default: false, description: any bool}
  items: {type: list, default: [], description: any list}
metrics:
  - {name: system.hostname, unit: text, description: host name}
"""

ECHO_SCRIPT = """\
cmx_section hostname uname -n
printf 'HOST=[%s]\\n' "$CMX_HOST"
printf 'ROLE=[%s]\\n' "$CMX_ROLE"
printf 'PLATFORM=[%s]\\n' "$CMX_PLATFORM"
printf 'NODES=[%s]\\n' "$CMX_NODES"
printf 'TEXT=[%s]\\n' "$CMX_PARAM_TEXT"
printf 'COUNT=[%s]\\n' "$CMX_PARAM_COUNT"
printf 'FLAG=[%s]\\n' "$CMX_PARAM_FLAG"
printf 'ITEMS=[%s]\\n' "$CMX_PARAM_ITEMS"
"""

MARKER_PROBE = """\
id: marker
title: Marker (test probe)
description: Creates the file named by its parameter, to prove the script ran on the host.
category: system
scope: host
timeout_s: 20
parser: system_info
params:
  path: {type: str, default: "", description: file to create}
metrics:
  - {name: system.hostname, unit: text, description: host name}
"""

MARKER_SCRIPT = """\
cmx_section hostname uname -n
[ -n "$CMX_PARAM_PATH" ] && : > "$CMX_PARAM_PATH"
"""

HANG_PROBE = """\
id: hang
title: Hang (test probe)
description: Records its PID, then sleeps far past its timeout; its cleanup hook writes a file.
category: system
scope: host
timeout_s: 2
parser: system_info
params:
  tag: {type: str, default: "", description: unique text for the sleep's argument and the files}
metrics:
  - {name: system.hostname, unit: text, description: host name}
"""

HANG_SCRIPT = """\
cmx_add_cleanup ': > "/tmp/cmx-hang-cleaned-$CMX_PARAM_TAG"'
echo $$ > "/tmp/cmx-hang-pid-$CMX_PARAM_TAG"
sleep "3000.$CMX_PARAM_TAG"
"""


STUBBORN_PROBE = """\
id: stubborn
title: Stubborn (test probe)
description: Starts a child that ignores TERM and a grandchild that leaves the session (setsid), then hangs.
category: system
scope: host
timeout_s: 2
parser: system_info
params:
  tag: {type: str, default: "", description: unique text for the sleeps' arguments and the pid files}
  linger: {type: bool, default: false, description: "exit at once, leaving the setsid daemon behind"}
metrics:
  - {name: system.hostname, unit: text, description: host name}
"""

STUBBORN_SCRIPT = """\
cmx_section hostname uname -n
echo "$CMX_TMP" > "/tmp/cmx-stubborn-tmp-$CMX_PARAM_TAG"
setsid sleep "3001.$CMX_PARAM_TAG" </dev/null >/dev/null 2>&1 &
echo $! > "/tmp/cmx-stubborn-setsid-$CMX_PARAM_TAG"
if [ "$CMX_PARAM_LINGER" = 1 ]; then exit 0; fi
cmx_section work bash -c 'trap "" TERM; echo $$ > "/tmp/cmx-stubborn-child-$0"; sleep "3002.$0"' \\
  "$CMX_PARAM_TAG"
cmx_section after echo never
"""


def make_probes_root(base: Path, *, hang_timeout_s: float | None = None) -> Path:
    root = base / "probes"
    root.mkdir(parents=True, exist_ok=True)
    shipped = probes_dir()
    for name in ("_lib", "system_info", "scheduler_detect"):
        shutil.copytree(shipped / name, root / name, dirs_exist_ok=True)
    hang = (
        HANG_PROBE
        if hang_timeout_s is None
        else HANG_PROBE.replace("timeout_s: 2", f"timeout_s: {hang_timeout_s}")
    )
    for pid, spec, script in (
        ("echo_params", ECHO_PROBE, ECHO_SCRIPT),
        ("marker", MARKER_PROBE, MARKER_SCRIPT),
        ("hang", hang, HANG_SCRIPT),
        ("stubborn", STUBBORN_PROBE, STUBBORN_SCRIPT),
    ):
        (root / pid).mkdir(exist_ok=True)
        (root / pid / "probe.yaml").write_text(textwrap.dedent(spec))
        (root / pid / "run.sh").write_text(script)
    return root
