// Where a test's artifacts live, relative to the report directory. The fixture (which writes them,
// in a worker) and the run reporter (which records them in run.json) must agree: one definition.
import * as path from 'node:path';

/** A file-name-safe form of a suite or test name. */
export function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80);
}

/** `tests/<suite>/<test>`: the folder of one test's capture, keys, trace and transcripts. */
export function testArtifactDir(suite: string, testName: string): string {
  return path.join('tests', slug(suite), slug(testName));
}
