import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import {
  fileUrl,
  formatSize,
  nearView,
  parseReference,
  placeholderText,
  showsProgress,
  strategyFor
} from '../reference';

const NAME =
  '0123456789abcdef-0123456789ab-0123456789abcdef0123456789abcdef.png';

describe('parseReference', () => {
  it('accepts what the kernel writes', () => {
    const ref = parseReference({
      name: NAME,
      mime: 'image/PNG',
      size: 42,
      alt: 'chart',
      width: 100,
      dimensions: { width: 640, height: 480 },
      metadata: { unconfined: true }
    });
    assert.deepEqual(ref, {
      name: NAME,
      mime: 'image/png',
      size: 42,
      alt: 'chart',
      width: 100,
      dimensions: { width: 640, height: 480 },
      metadata: { unconfined: true }
    });
  });

  it('refuses names that could leave /@file/', () => {
    for (const name of [
      '../etc/passwd',
      `${NAME}/x`,
      `a${NAME}`,
      NAME.toUpperCase(),
      ''
    ]) {
      assert.equal(
        parseReference({ name, mime: 'image/png', size: 1 }),
        null,
        name
      );
    }
  });

  it('refuses other shapes', () => {
    for (const data of [
      null,
      [],
      'x',
      { name: NAME, mime: 'x', size: 1 },
      { name: NAME, mime: 'image/png', size: -1 },
      { name: NAME, mime: 'image/png', size: 1.5 },
      { name: NAME, mime: 'text/html"><script>', size: 1 }
    ]) {
      assert.equal(parseReference(data), null, JSON.stringify(data));
    }
  });

  it('drops dimensions that are not sizes', () => {
    const ref = parseReference({
      name: NAME,
      mime: 'image/png',
      size: 1,
      width: 'expression(1)',
      height: -3,
      dimensions: { width: '1', height: 2 }
    });
    assert.deepEqual(ref, { name: NAME, mime: 'image/png', size: 1 });
  });
});

describe('fileUrl', () => {
  it('follows the page base URL, whatever the kernel wrote', () => {
    assert.equal(fileUrl('/user/alice/', NAME), `/user/alice/@file/${NAME}`);
    assert.equal(
      fileUrl('http://h:8888/x', NAME),
      `http://h:8888/x/@file/${NAME}`
    );
  });
  it('throws on a bad name', () => {
    assert.throws(() => fileUrl('/', '../x'));
  });
});

describe('formatSize', () => {
  it('matches the kernel', () => {
    assert.equal(formatSize(0), '0 B');
    assert.equal(formatSize(1023), '1023 B');
    assert.equal(formatSize(1536), '1.5 KiB');
    assert.equal(formatSize(10 * 1024 * 1024), '10.0 MiB');
    assert.equal(formatSize(3 * 1024 ** 4), '3072.0 GiB');
  });
});

describe('strategyFor', () => {
  it('streams media by src', () => {
    assert.deepEqual(strategyFor('image/png'), { kind: 'src', element: 'img' });
    assert.deepEqual(strategyFor('video/webm'), {
      kind: 'src',
      element: 'video'
    });
    assert.deepEqual(strategyFor('audio/wav'), {
      kind: 'src',
      element: 'audio'
    });
    assert.deepEqual(strategyFor('application/pdf'), {
      kind: 'src',
      element: 'object'
    });
  });
  it('fetches what a JupyterLab renderer draws', () => {
    for (const mime of [
      'application/json',
      'application/vnd.plotly.v1+json',
      'application/vnd.vegalite.v5+json',
      'application/vnd.vegalite.v6.json',
      'application/geo+json'
    ]) {
      assert.deepEqual(strategyFor(mime), { kind: 'fetch', as: 'json' }, mime);
    }
    for (const mime of [
      'text/html',
      'text/markdown',
      'text/latex',
      'image/svg+xml'
    ]) {
      assert.deepEqual(strategyFor(mime), { kind: 'fetch', as: 'text' }, mime);
    }
  });
  it('links the rest', () => {
    assert.deepEqual(strategyFor('application/zip'), { kind: 'link' });
  });
});

describe('placeholders and progress', () => {
  it('says what the output was and to re-run the cell', () => {
    const ref = { name: NAME, mime: 'image/png', size: 5 * 1024 * 1024 };
    const text = placeholderText(ref, 404);
    assert.match(text, /image\/png, 5\.0 MiB/);
    assert.match(text, /Re-run the cell/);
    assert.match(placeholderText(ref, null), /did not answer/);
  });
  it('shows progress from 2 MiB', () => {
    assert.equal(showsProgress(2 * 1024 * 1024 - 1), false);
    assert.equal(showsProgress(2 * 1024 * 1024), true);
  });
});

describe('nearView', () => {
  const area = { top: 100, bottom: 1100 }; // a scrolling area 1000 px high

  it('takes outputs in view and within one area height of it', () => {
    assert.equal(nearView({ top: 500, bottom: 700 }, area), true);
    assert.equal(nearView({ top: 2000, bottom: 2400 }, area), true);
    assert.equal(nearView({ top: -1000, bottom: -800 }, area), true);
  });

  it('leaves outputs further away to the observer', () => {
    assert.equal(nearView({ top: 2200, bottom: 2600 }, area), false);
    assert.equal(nearView({ top: -1400, bottom: -901 }, area), false);
  });

  it('leaves outputs with no size (not laid out, hidden) to the observer', () => {
    assert.equal(nearView({ top: 0, bottom: 0 }, area), false);
    assert.equal(
      nearView({ top: 500, bottom: 700 }, { top: 0, bottom: 0 }),
      false
    );
  });
});
