/**
 * PNG of a chart: every <svg> of a Plot figure (legend and chart) is serialised, drawn onto one canvas
 * (stacked) over the page's background, and saved. `currentColor` is resolved to the page's text colour so
 * axes stay visible in both themes.
 */
export async function figureToPng(figure: Element, scale = 2): Promise<Blob> {
  const svgs = [...figure.querySelectorAll('svg')].filter((s) => s.getBoundingClientRect().width > 0);
  if (svgs.length === 0) throw new Error('the chart has no SVG to export');
  const style = getComputedStyle(figure);
  const color = style.color || '#000';
  const background = pageBackground(figure);
  const images = await Promise.all(svgs.map((svg) => svgImage(svg, color)));
  const width = Math.max(...images.map((i) => i.width));
  const height = images.reduce((h, i) => h + i.height + 8, 0);
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(width * scale);
  canvas.height = Math.ceil(height * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2-D canvas context');
  ctx.scale(scale, scale);
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, width, height);
  let y = 0;
  for (const img of images) {
    ctx.drawImage(img.image, 0, y, img.width, img.height);
    y += img.height + 8;
  }
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('canvas.toBlob gave nothing'))), 'image/png'));
}

function pageBackground(el: Element): string {
  for (let e: Element | null = el; e; e = e.parentElement) {
    const bg = getComputedStyle(e).backgroundColor;
    if (bg && bg !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(bg)) return bg;
  }
  return '#ffffff';
}

async function svgImage(svg: SVGSVGElement, color: string): Promise<{ image: HTMLImageElement; width: number; height: number }> {
  const box = svg.getBoundingClientRect();
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(box.width));
  clone.setAttribute('height', String(box.height));
  clone.style.color = color;
  const text = new XMLSerializer().serializeToString(clone);
  const image = new Image();
  image.width = box.width;
  image.height = box.height;
  await new Promise<void>((resolve, reject) => {
    image.onload = () => resolve();
    image.onerror = () => reject(new Error('the chart SVG could not be rasterised'));
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  });
  return { image, width: box.width, height: box.height };
}
