import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FUZZ_LIMITS,
  FuzzRunner,
  fuzzTimeout,
  type FuzzBase,
  type FuzzFile,
} from '../fuzz.testing.js';
import { dicomFields } from '../hostile-files.testing.js';
import { withInputFiles } from '../raw-profile/synthetic-scan.testing.js';
import { DicosAdapter } from './dicos.adapter.js';
import { writeDicos } from './dicos.writer.js';
import { generatedDicomFiles } from './generated-dicom.testing.js';
import { SAMPLE_DICOS_SCAN } from './sample-scan.testing.js';

/** Fuzzing of the DICOS adapter (see fuzz.testing.ts; NIIX_FUZZ_RUNS sets the size). */

const fixtures = join(__dirname, 'fixtures');

function base(label: string, files: FuzzFile[]): FuzzBase {
  const fields = files.map((file, i) => dicomFields(file.data, i));
  return { label, files, numeric: fields.flatMap((f) => f.numeric), text: fields.flatMap((f) => f.text) };
}

describe(`${DicosAdapter.name} fuzzing`, () => {
  const adapter = new DicosAdapter();
  const runner = new FuzzRunner(adapter);
  let bases: FuzzBase[] = [];
  let generated: FuzzFile[] = [];

  beforeAll(async () => {
    generated = await generatedDicomFiles();
    const real = readdirSync(fixtures)
      .filter((name) => name.endsWith('.dcm'))
      .sort()
      .map((name) => base(`fixtures/${name}`, [{ name, data: readFileSync(join(fixtures, name)) }]));
    bases = [
      ...real,
      ...generated.map((file) => base(`generated ${file.name}`, [file])),
      base('writeDicos sample scan (three files)', writeDicos(SAMPLE_DICOS_SCAN).map((f) => ({ name: f.name, data: f.data }))),
    ];
    await runner.start();
  });

  afterAll(async () => {
    await runner.stop();
    console.log(runner.summary());
  });

  it('starts from files that convert (the generated ones, one per transfer syntax and layout)', async () => {
    for (const file of generated) {
      const conversion = await withInputFiles([file], (input) => adapter.convert(input), FUZZ_LIMITS);
      expect({ file: file.name, views: conversion.views.length > 0 }).toEqual({ file: file.name, views: true });
    }
  });

  it(
    'converts or refuses with a ConversionError every mutated file, in bounded time and memory',
    async () => {
      await runner.mutatedProperty(bases);
    },
    fuzzTimeout(),
  );

  it(
    'converts or refuses with a ConversionError random bytes after the first bytes of a real file',
    async () => {
      await runner.randomProperty(bases);
    },
    fuzzTimeout(),
  );
});
