import { defineConfig } from 'vitest/config';

/**
 * Pure library tests (no server, no env or process state left behind; a new folder starts isolated): they share one worker
 * process per fork instead of a fresh one per file, which saves the per-file start-up and the
 * re-import of the modules (measured on these 31 files: 108 → 82 CPU-s). Everything else keeps a
 * process of its own (servers, env stubs, sessions a file does not close; a file listed here
 * closes what it opens: pools, face detectors, text models with closeTextModels).
 */
const SHARED_PROCESS = [
  'test/tabular/*.test.ts',
  'test/tabular/{csv,hierarchy,metrics,models,mondrian,risk,scheme}/**/*.test.ts',
  'test/policy/**/*.test.ts',
  'test/report/**/*.test.ts',
  'test/io/**/*.test.ts',
  'test/demo/**/*.test.ts',
  // pure functions of the image and DICOM cores (no model session, no temp dir, no env): these
  // 23 files alone, isolated → shared, 25–27 → 13–14 CPU-s at load ≈ 18
  'test/image/faces/{anchors,decode,nms,shrink,tiles}.test.ts',
  'test/image/{phi,redact}/**/*.test.ts',
  'test/image/text/{detector,instances,mosaic,recognizer,regions,resize}.test.ts',
  'test/image/triage.test.ts',
  'test/dicom/{codec,deflateBomb,deidentify,profileTable,residual}.test.ts',
  'test/dicom/pixels/{burn,fragments,scanDecision,triage,view}.test.ts',
  // read-only checks of the sources and the standards' data
  'test/standard/**/*.test.ts',
  'test/version.test.ts',
  'test/architecture.test.ts',
  // the server in-process (createApi on a temp dir, closed by the file; options, never env or
  // mocks) and the distributed tabular engine's library tests: one process evaluates the server's
  // modules once for all of them instead of once per file
  'test/api/{approvalBypass,auditVerify,cellLimit,console,diskFull,errors,exports,files,hierarchyDir,jobEvents,limits,multipart,noUsableInput,policyBombs,policyBundle,preview,riskPopulation,routes,session,zip,zipDiskFull}.test.ts',
  'test/api/queue/connection.test.ts',
  'test/tabular/distributed/{merge,rawCopy}.test.ts',
  'test/fuzz/{jobs,tabular}.fuzz.test.ts',
  // parsers fuzzed in-process (servers on temp folders closed by the file; children only veil, unzip, python3)
  'test/fuzz/{zip,policy,multipart,csv}.fuzz.test.ts',
  'test/api/zipWriter.test.ts',
  'test/api/runnerPolicy.test.ts',
  // in-process engines on temp folders removed by the file, no env, no chdir: the distributed
  // engine's run (worker threads it ends itself), the face detector on real photos (sessions
  // closed in afterAll), and the start-up traces (real `veil` processes with their own env)
  'test/tabular/distributed/distributed.test.ts',
  'test/image/faces/{escalation,lowBand,realPhotos}.test.ts',
  'test/cli/startup.test.ts',
  // DICOM runs on temp folders (pools closed in finally; cohort's only child is dcmdump)
  'test/dicom/{cohort,staging}.test.ts',
  // the pixel-model files: temp folders removed by the file, no env, no chdir; text model sessions
  // closed in afterAll (closeTextModels), worker pools closed; children only veil and dcmtk
  'test/dicom/{mustShow,missingModels,pixelManifest,pixelTriage}.test.ts',
  'test/dicom/pixels/cleaner.test.ts',
  'test/image/{redactFile,redactImages}.test.ts',
  'test/cli/imageAllFailed.test.ts',
];

export default defineConfig({
  test: {
    // dist/ current before any file runs: the tests start Veil processes from the build (test/helpers.ts VEIL_BIN)
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Both cores (vitest's default is cores − 1 = 1 here): 328 s → 283 s for the suite in the
    // last session. Safe since a refused multipart request answers only once all its files are
    // closed and deleted (src/api/uploads.ts), so the multipart fuzz no longer races the disk.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'shared', include: SHARED_PROCESS, isolate: false } },
      { extends: true, test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: [...SHARED_PROCESS, 'node_modules/**'], isolate: true } },
    ],
  },
});
