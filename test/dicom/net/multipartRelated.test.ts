import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundaryOf, contentTypeParam, readMultipart, readMultipartStream, writeMultipart } from '../../../src/dicom/net/multipartRelated.js';
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

describe('multipart/related read as a stream', () => {
  async function* chunked(body: Buffer, size: number): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
  }
  async function collect(body: Buffer, size: number, boundary: string) {
    const parts = [];
    for await (const part of readMultipartStream(chunked(body, size), boundary)) parts.push(part);
    return parts;
  }

  it('yields the parts readMultipart finds, whatever the chunk size (delimiters split across chunks)', async () => {
    const files = ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm'].map((f) => readFileSync(join(sharedDicom, f)));
    const body = Buffer.concat([Buffer.from('preamble\r\n'), ...writeMultipart(files, 'application/dicom', 'b-123')]);
    const whole = readMultipart(body, 'b-123');
    for (const size of [1, 3, 7, 64, 4096, body.length]) {
      const parts = await collect(body, size, 'b-123');
      expect(parts.map((p) => Buffer.from(p.body).toString('hex')), `chunks of ${size}`).toEqual(whole.map((p) => Buffer.from(p.body).toString('hex')));
      expect(parts.map((p) => p.headers.get('content-type'))).toEqual(['application/dicom', 'application/dicom', 'application/dicom']);
    }
  });

  it('handles a part with no headers and an empty part, and refuses an unclosed part', async () => {
    const body = Buffer.from('--XX\r\n\r\ntwo\r\n--XX\r\nContent-Type: text/plain\r\n\r\n\r\n--XX--\r\n', 'latin1');
    for (const size of [1, 5, body.length]) expect((await collect(body, size, 'XX')).map((p) => Buffer.from(p.body).toString())).toEqual(['two', '']);
    await expect(collect(Buffer.from('--XX\r\nContent-Type: a/b\r\n\r\ncut short'), 4, 'XX')).rejects.toThrow(/part 1 is not closed/);
    await expect(collect(Buffer.from('nothing'), 4, 'XX')).rejects.toThrow(/no multipart boundary/);
  });
});
