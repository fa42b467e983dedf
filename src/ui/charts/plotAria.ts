/**
 * Plot names its mark groups with aria-label but gives them no role, which ARIA prohibits on an element
 * without one (axe-core aria-prohibited-attr). Give each such element a role; the labels stay (tests and
 * screen readers use them).
 */
export function roleForPlotLabels(root: Element): void {
  for (const el of root.querySelectorAll('[aria-label]:not([role])')) el.setAttribute('role', el.tagName.toLowerCase() === 'svg' ? 'img' : 'group');
}
