// Guides over the frame: a platform's safe area (what its buttons and description never
// cover, the very fractions the caption engine fits captions into) and a thirds grid.

/** The safe rectangle [x0, y0, x1, y1] of `area` = [top, bottom, left, right] fractions. */
export function safeRect(area, width, height) {
  const [top, bottom, left, right] = area;
  return [width * left, height * top, width * (1 - right), height * (1 - bottom)];
}

export function drawGuides(ctx, width, height, area, grid) {
  ctx.clearRect(0, 0, width, height);
  if (area) {
    const [x0, y0, x1, y1] = safeRect(area, width, height);
    ctx.fillStyle = "rgba(255, 40, 80, 0.28)";
    ctx.fillRect(0, 0, width, y0);
    ctx.fillRect(0, y1, width, height - y1);
    ctx.fillRect(0, y0, x0, y1 - y0);
    ctx.fillRect(x1, y0, width - x1, y1 - y0);
    ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, x1 - x0 - 1, y1 - y0 - 1);
    ctx.setLineDash([]);
  }
  if (grid) {
    ctx.strokeStyle = "rgba(255, 255, 255, 0.6)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const f of [1 / 3, 2 / 3]) {
      ctx.moveTo(Math.round(width * f) + 0.5, 0);
      ctx.lineTo(Math.round(width * f) + 0.5, height);
      ctx.moveTo(0, Math.round(height * f) + 0.5);
      ctx.lineTo(width, Math.round(height * f) + 0.5);
    }
    ctx.stroke();
  }
}
