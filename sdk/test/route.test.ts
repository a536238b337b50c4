import { describe, expect, it } from 'vitest';
import { joinMountPath, joinRoute, mountPathOfUseArgs, templateOf, UNMATCHED_ROUTE } from '../src/route';

describe('route templates', () => {
  it('templateOf renders strings, regexps and nested arrays', () => {
    expect(templateOf('/users/:id')).toBe('/users/:id');
    expect(templateOf(/^\/v\d+/)).toBe('/^\\/v\\d+/');
    expect(templateOf(['/a', ['/b', /c/]])).toBe('/a,/b,/c/');
  });

  it('joinMountPath drops trailing slashes of the mount', () => {
    expect(joinMountPath('', '/api')).toBe('/api');
    expect(joinMountPath('/api', '/v1/')).toBe('/api/v1');
    expect(joinMountPath('', '/')).toBe('');
  });

  it('joinRoute joins the prefix and the route path', () => {
    expect(joinRoute('', '/health')).toBe('/health');
    expect(joinRoute('', '/')).toBe('/');
    expect(joinRoute('', '')).toBe('/');
    expect(joinRoute('/api/users', '/:id')).toBe('/api/users/:id');
    expect(joinRoute('/api/users', '/')).toBe('/api/users');
    expect(joinRoute('/api', '*splat')).toBe('/api/*splat');
  });

  it('mountPathOfUseArgs mirrors Express: a leading function means mounted at /', () => {
    const fn = (): void => {};
    expect(mountPathOfUseArgs([fn])).toBeUndefined();
    expect(mountPathOfUseArgs([[fn, fn]])).toBeUndefined();
    expect(mountPathOfUseArgs(['/api', fn])).toBe('/api');
    expect(mountPathOfUseArgs([['/a', '/b'], fn])).toEqual(['/a', '/b']);
  });

  it('has one shared value for unmatched requests', () => {
    expect(UNMATCHED_ROUTE).toBe('(unmatched)');
  });
});
