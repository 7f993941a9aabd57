// One Apache ECharts chart (canvas renderer, only the parts used), sized by its container.
// Tooltips render on the canvas (richText), so no inline style reaches the DOM and the
// origin's Content-Security-Policy (style-src 'self') holds.
import { BarChart, HeatmapChart, LineChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { useEffect, useRef } from "react";

echarts.use([
  BarChart,
  LineChart,
  HeatmapChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  MarkAreaComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;

export const PALETTE = {
  claims: "#2f6db5",
  arrivals: "#8fb8e8",
  ok: "#2e8540",
  warning: "#c98a00",
  critical: "#c0392b",
  neutral: "#6b7785",
};

/**
 * `label` names the chart for assistive technology; `summary` says in words what it shows
 * (the same figures are in the panel's table).
 */
export function Chart({ option, label, summary, tall }: { option: ChartOption; label: string; summary: string; tall?: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | undefined>(undefined);

  useEffect(() => {
    if (!host.current) return;
    const instance = echarts.init(host.current, undefined, { renderer: "canvas" });
    chart.current = instance;
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(host.current);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = undefined;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(
      {
        animation: false,
        textStyle: { fontFamily: "system-ui, sans-serif" },
        ...option,
        tooltip: { ...((option.tooltip as object | undefined) ?? {}), renderMode: "richText" },
      },
      true,
    );
  }, [option]);

  return (
    <figure className="chart-figure">
      <div ref={host} className={tall ? "chart chart-tall" : "chart"} role="img" aria-label={`${label}: ${summary}`} />
      <figcaption className="visually-hidden">{summary}</figcaption>
    </figure>
  );
}
