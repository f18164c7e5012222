"""Tests of cronium.save_artifact: real files in a temporary directory standing in for /work, with
CRONIUM_ARTIFACTS_DIR pointing at its out/.

Run from the repository root: python3 -m unittest discover -s sdk-python/tests -v
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

# Keep sdk-python/cronium/ free of __pycache__ (the directory is copied as is into the image).
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# test_cronium points every proxy variable at a closed port before cronium is first imported (what its proxy tests
# rely on): importing it first keeps that true whichever file the test loader takes first.
from test_cronium import SDK_DIR, CroniumError, cronium  # noqa: E402

BAD_NAMES = ("", "/abs.txt", "a//b", "a/", "./a", "a/./b", "..", ".", "../x", "a/../b", "a\\b", "a\0b", "a\nb")


def tree(d):
    """Every path under d (relative, sorted), so that a test sees anything left behind."""
    out = []
    for base, dirs, files in os.walk(d):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(base, n), d))
    return sorted(out)


class TestSaveArtifact(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cronium-sdk-artifacts-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.work = os.path.join(self.dir, "work")
        self.out = os.path.join(self.work, "out")
        os.mkdir(self.work)
        saved = os.environ.get("CRONIUM_ARTIFACTS_DIR")
        self.addCleanup(lambda: os.environ.pop("CRONIUM_ARTIFACTS_DIR", None) if saved is None
                        else os.environ.__setitem__("CRONIUM_ARTIFACTS_DIR", saved))
        os.environ["CRONIUM_ARTIFACTS_DIR"] = self.out
        self.bytes = os.urandom(200000) + b"\x00\xff\n\r"
        self.src = os.path.join(self.dir, "report.bin")
        with open(self.src, "wb") as f:
            f.write(self.bytes)

    def read(self, *parts):
        with open(os.path.join(self.out, *parts), "rb") as f:
            return f.read()

    def assertCronium(self, code, fn, *args, field=None, message=None):
        with self.assertRaises(CroniumError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.code, code)
        self.assertIsNone(cm.exception.status)
        if field is not None:
            self.assertEqual(cm.exception.field, field)
        if message is not None:
            self.assertRegex(str(cm.exception), message)
        return cm.exception

    def test_public_names(self):
        self.assertIs(cronium.saveArtifact, cronium.save_artifact)
        self.assertIn("save_artifact", cronium.__all__)
        self.assertIn("saveArtifact", cronium.__all__)
        self.assertTrue(callable(cronium.Client().save_artifact))

    def test_copies_under_the_basename_and_leaves_no_temporary_file(self):
        self.assertEqual(cronium.save_artifact(self.src), "report.bin")
        self.assertEqual(self.read("report.bin"), self.bytes)
        st = os.lstat(os.path.join(self.out, "report.bin"))
        self.assertEqual(st.st_nlink, 1, "a copy, not a hard link (the collector skips those)")
        self.assertEqual(tree(self.work), ["out", "out/report.bin"], "the temporary copy was renamed away")
        with open(self.src, "rb") as f:
            self.assertEqual(f.read(), self.bytes, "the source is untouched")

    def test_temporary_copy_is_outside_the_artifacts_directory(self):
        import cronium._artifacts as impl
        renames = []
        real = impl.os.replace

        def spy(a, b):
            with open(a, "rb") as f:
                renames.append((a, b, f.read() == self.bytes))
            return real(a, b)

        impl.os.replace = spy
        try:
            cronium.save_artifact(self.src, "deep/er/report.bin")
        finally:
            impl.os.replace = real
        self.assertEqual(len(renames), 1)
        frm, to, complete = renames[0]
        self.assertRegex(frm, "^" + re.escape(self.work) + r"/\.cronium-artifact-[0-9a-f]{16}\.tmp$",
                         "not under out/, where a half copy would be collected")
        self.assertEqual(to, os.path.join(self.out, "deep", "er", "report.bin"))
        self.assertTrue(complete, "the whole file is written before the rename")

    def test_subdirectory_names_and_pathlike_paths(self):
        self.assertEqual(cronium.save_artifact(self.src, "reports/2024/summary.bin"), "reports/2024/summary.bin")
        self.assertEqual(self.read("reports", "2024", "summary.bin"), self.bytes)
        self.assertEqual(cronium.saveArtifact(pathlib.Path(self.src), "reports/other.bin"), "reports/other.bin")
        self.assertEqual(cronium.Client().save_artifact(self.src, "c.bin"), "c.bin")
        self.assertEqual(tree(self.out), ["c.bin", "reports", "reports/2024", "reports/2024/summary.bin",
                                          "reports/other.bin"])

    def test_relative_path_from_the_working_directory(self):
        os.makedirs(os.path.join(self.work, "data"))
        with open(os.path.join(self.work, "data", "orders.csv"), "w") as f:
            f.write("id,amount\n1,12.5\n")
        cwd = os.getcwd()
        os.chdir(self.work)
        self.addCleanup(os.chdir, cwd)
        self.assertEqual(cronium.save_artifact("data/orders.csv"), "orders.csv")
        self.assertEqual(self.read("orders.csv"), b"id,amount\n1,12.5\n")

    def test_follows_the_scripts_own_link(self):
        os.symlink(self.src, os.path.join(self.dir, "latest.bin"))
        self.assertEqual(cronium.save_artifact(os.path.join(self.dir, "latest.bin")), "latest.bin")
        self.assertFalse(os.path.islink(os.path.join(self.out, "latest.bin")))
        self.assertEqual(self.read("latest.bin"), self.bytes)

    def test_replaces_an_artifact_a_link_or_a_hard_link_of_the_same_name(self):
        os.makedirs(self.out)
        with open(os.path.join(self.out, "report.bin"), "w") as f:
            f.write("old")
        cronium.save_artifact(self.src)
        self.assertEqual(self.read("report.bin"), self.bytes)
        os.symlink(self.src, os.path.join(self.out, "linked.bin"))
        cronium.save_artifact(self.src, "linked.bin")
        self.assertFalse(os.path.islink(os.path.join(self.out, "linked.bin")))
        os.link(self.src, os.path.join(self.out, "hard.bin"))
        cronium.save_artifact(self.src, "hard.bin")
        st = os.stat(os.path.join(self.out, "hard.bin"))
        self.assertEqual(st.st_nlink, 1)
        self.assertNotEqual(st.st_ino, os.stat(self.src).st_ino)
        self.assertEqual(self.read("hard.bin"), self.bytes)

    def test_noop_for_the_file_already_at_that_name(self):
        os.makedirs(os.path.join(self.out, "sub"))
        with open(os.path.join(self.out, "report.txt"), "w") as f:
            f.write("written in place")
        with open(os.path.join(self.out, "sub", "x.txt"), "w") as f:
            f.write("x")
        ino = os.stat(os.path.join(self.out, "report.txt")).st_ino
        self.assertEqual(cronium.save_artifact(os.path.join(self.out, "report.txt")), "report.txt")
        self.assertEqual(cronium.save_artifact(os.path.join(self.out, "sub", "x.txt"), "sub/x.txt"), "sub/x.txt")
        self.assertEqual(os.stat(os.path.join(self.out, "report.txt")).st_ino, ino, "not rewritten")
        self.assertEqual(self.read("report.txt"), b"written in place")
        self.assertEqual(tree(self.work), ["out", "out/report.txt", "out/sub", "out/sub/x.txt"])

    def test_bad_names_raise_type_error_naming_the_argument(self):
        for name in BAD_NAMES:
            with self.subTest(name=name):
                with self.assertRaises(TypeError) as cm:
                    cronium.save_artifact(self.src, name)
                self.assertTrue(str(cm.exception).startswith("cronium: save_artifact: name {!r} must ".format(name)),
                                str(cm.exception))
        with self.assertRaisesRegex(TypeError, "name must be a str, got int"):
            cronium.save_artifact(self.src, 42)
        for bad_path in ("", None, 3, b"/bytes/path"):
            with self.assertRaisesRegex(TypeError, "path must be a non-empty str"):
                cronium.save_artifact(bad_path)
        self.assertEqual(tree(self.work), [])

    def test_bad_default_name(self):
        odd = os.path.join(self.dir, "a\\b.txt")
        with open(odd, "w") as f:
            f.write("x")
        with self.assertRaisesRegex(TypeError, r"name \(the basename of path .*\) 'a\\\\b.txt' must not contain a backslash"):
            cronium.save_artifact(odd)
        self.assertEqual(cronium.save_artifact(odd, "a-b.txt"), "a-b.txt")

    def test_not_a_regular_file(self):
        self.assertCronium("NOT_A_FILE", cronium.save_artifact, self.dir, field="path",
                           message=r"^cronium: save_artifact: path '.*' is a directory, not a regular file$")
        self.assertCronium("FILE_NOT_FOUND", cronium.save_artifact, os.path.join(self.dir, "missing.csv"),
                           field="path", message=r"path '.*missing\.csv' does not exist$")
        self.assertCronium("FILE_NOT_FOUND", cronium.save_artifact, os.path.join(self.src, "below-a-file"))
        fifo = os.path.join(self.dir, "pipe")
        os.mkfifo(fifo)
        self.assertCronium("NOT_A_FILE", cronium.save_artifact, fifo, message="is a FIFO")
        self.assertEqual(tree(self.work), [])

    def test_names_that_run_into_a_directory_a_file_or_a_link(self):
        os.makedirs(os.path.join(self.out, "taken"))
        with open(os.path.join(self.out, "plain"), "w") as f:
            f.write("p")
        elsewhere = os.path.join(self.dir, "elsewhere")
        os.mkdir(elsewhere)
        os.symlink(elsewhere, os.path.join(self.out, "linkdir"))
        self.assertCronium("ARTIFACT_CONFLICT", cronium.save_artifact, self.src, "taken", field="name",
                           message="is a directory$")
        self.assertCronium("ARTIFACT_CONFLICT", cronium.save_artifact, self.src, "plain/x", message="plain is not a directory$")
        self.assertCronium("ARTIFACT_CONFLICT", cronium.save_artifact, self.src, "linkdir/x", message="linkdir is a symbolic link")
        self.assertEqual(tree(elsewhere), [], "nothing written through the link")
        self.assertEqual(tree(self.out), ["linkdir", "plain", "taken"])

    def test_artifacts_directory_that_is_a_link(self):
        real = os.path.join(self.dir, "real-out")
        os.mkdir(real)
        os.symlink(real, self.out)
        self.assertCronium("ARTIFACT_CONFLICT", cronium.save_artifact, self.src, message="is a symbolic link")
        self.assertEqual(tree(real), [])

    def test_installed_copy_in_a_fresh_interpreter(self):
        """The package directory copied as is (as the runtime image does), outside any API (local only)."""
        site = tempfile.mkdtemp(prefix="cronium-dist-packages-")
        self.addCleanup(shutil.rmtree, site, True)
        shutil.copytree(os.path.join(SDK_DIR, "cronium"), os.path.join(site, "cronium"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        env = {k: v for k, v in os.environ.items() if k not in ("CRONIUM_API_URL", "CRONIUM_TOKEN")}
        proc = subprocess.run([sys.executable, "-I", "-c",
                               "import sys; sys.path.insert(0, %r)\nimport cronium\n"
                               "print(cronium.saveArtifact(%r, 'fresh/r.bin'))\n" % (site, self.src)],
                              env=env, capture_output=True, text=True, timeout=30, cwd=site)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "fresh/r.bin\n")
        self.assertEqual(self.read("fresh", "r.bin"), self.bytes)


if __name__ == "__main__":
    unittest.main()
