import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundaryOf, contentTypeParam, readMultipart, writeMultipart } from '../../../src/dicom/net/multipartRelated.js';
import { sharedDicom } from '../helpers.js';

const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks);

describe('multipart/related reader and writer', () => {
  it('reads back, byte for byte, the DICOM files it wrote', () => {
    const files = ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm'].map((f) => readFileSync(join(sharedDicom, f)));
    const body = concat(writeMultipart(files, 'application/dicom', 'b-123'));
    const parts = readMultipart(body, 'b-123');
    expect(parts).toHaveLength(3);
    parts.forEach((part, i) => {
      expect(Buffer.from(part.body).equals(files[i])).toBe(true);
      expect(part.headers.get('content-type')).toBe('application/dicom');
    });
  });

  it('takes the boundary from a quoted or bare Content-Type parameter, and the type parameter', () => {
    const header = 'multipart/related; type="application/dicom"; boundary="a;b=c"';
    expect(boundaryOf(header)).toBe('a;b=c');
    expect(boundaryOf('multipart/related; boundary=xyz; type=application/dicom')).toBe('xyz');
    expect(contentTypeParam(header, 'type')).toBe('application/dicom');
    expect(boundaryOf('application/dicom')).toBeUndefined();
    expect(boundaryOf('multipart/related; type="application/dicom"')).toBeUndefined();
  });

  it('skips a preamble, keeps part headers, allows an empty part and a part with no headers', () => {
    const body = Buffer.from('preamble text\r\n--XX\r\nContent-Type: application/dicom\r\nContent-Location: /a\r\n\r\none\r\n--XX\r\n\r\ntwo\r\n--XX\r\nContent-Type: text/plain\r\n\r\n\r\n--XX--\r\nepilogue', 'latin1');
    const parts = readMultipart(body, 'XX');
    expect(parts.map((p) => Buffer.from(p.body).toString())).toEqual(['one', 'two', '']);
    expect(parts[0].headers.get('content-location')).toBe('/a');
    expect(parts[1].headers.size).toBe(0);
  });

  it('refuses a body without the boundary, a part that is never closed, and content that holds the boundary', () => {
    expect(() => readMultipart(Buffer.from('no parts here'), 'XX')).toThrow(/no multipart boundary/);
    expect(() => readMultipart(Buffer.from('--XX\r\nContent-Type: a/b\r\n\r\ncut short'), 'XX')).toThrow(/part 1 is not closed/);
    expect(() => readMultipart(Buffer.from('--XX\r\nContent-Type: a/b'), 'XX')).toThrow(/part 1 has no header block/);
    expect(() => writeMultipart([Buffer.from('x\r\n--XX\r\n')], 'application/dicom', 'XX')).toThrow(/contains the boundary/);
  });
});
