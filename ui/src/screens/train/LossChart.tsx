import { useId } from "react";
import type { CurvePoint } from "../../api";
import { locale, useI18n } from "../../i18n";
import { geometry, tickLabel, type Box } from "./chart";
import { formatLoss } from "./model";

interface Props {
  train: CurvePoint[];
  val: CurvePoint[];
  bestStep: number | null;
  totalSteps?: number | null;
  /** A small thumbnail without axes (the run history). */
  compact?: boolean;
  testId?: string;
}

const FULL: Box = { width: 640, height: 240, left: 52, right: 16, top: 14, bottom: 40 };
const SMALL: Box = { width: 160, height: 48, left: 2, right: 2, top: 4, bottom: 4 };

/** Training loss per step, validation checks as dots, the best checkpoint marked. */
export function LossChart({ train, val, bestStep, totalSteps = null, compact = false, testId }: Props) {
  const { t, lang } = useI18n();
  const titleId = useId();
  const box = compact ? SMALL : FULL;
  const g = geometry(train, val, bestStep, box, totalSteps, compact ? 120 : 600);
  const loc = locale(lang);
  const first = train[0];
  const last = train[train.length - 1];
  const summary =
    first && last
      ? t("train.chartSummary", { steps: last.step, from: formatLoss(first.loss), to: formatLoss(last.loss), checks: val.length })
      : t("train.chartEmpty");
  const plotBottom = box.height - box.bottom;
  return (
    <svg
      className={compact ? "loss-chart loss-chart--compact" : "loss-chart"}
      viewBox={`0 0 ${box.width} ${box.height}`}
      role="img"
      aria-labelledby={titleId}
      data-testid={testId}
      data-points={train.length}
      data-val-points={val.length}
    >
      <title id={titleId}>{summary}</title>
      {!compact && (
        <g className="loss-chart__grid" aria-hidden="true">
          {g.yTicks.map((v) => (
            <g key={`y${v}`}>
              <line x1={box.left} x2={box.width - box.right} y1={g.sy(v)} y2={g.sy(v)} />
              <text className="loss-chart__tick" x={box.left - 8} y={g.sy(v)} textAnchor="end" dominantBaseline="middle">
                {tickLabel(v, loc)}
              </text>
            </g>
          ))}
          {g.xTicks.map((v) => (
            <text key={`x${v}`} className="loss-chart__tick" x={g.sx(v)} y={plotBottom + 16} textAnchor="middle">
              {tickLabel(v, loc)}
            </text>
          ))}
          <line className="loss-chart__axis" x1={box.left} x2={box.width - box.right} y1={plotBottom} y2={plotBottom} />
          <text className="loss-chart__label" x={(box.left + box.width - box.right) / 2} y={box.height - 4} textAnchor="middle">
            {t("train.chartStep")}
          </text>
          <text
            className="loss-chart__label"
            transform={`translate(12 ${(box.top + plotBottom) / 2}) rotate(-90)`}
            textAnchor="middle"
          >
            {t("train.chartLoss")}
          </text>
        </g>
      )}
      {!compact && train.length === 0 && (
        <text className="loss-chart__empty" x={(box.left + box.width - box.right) / 2} y={(box.top + plotBottom) / 2} textAnchor="middle">
          {t("train.chartEmpty")}
        </text>
      )}
      {g.best && (
        <line
          className="loss-chart__best-line"
          x1={g.best.x}
          x2={g.best.x}
          y1={box.top}
          y2={plotBottom}
          aria-hidden="true"
        />
      )}
      <path className="loss-chart__train" d={g.trainPath} fill="none" />
      {g.valDots.length > 1 && <path className="loss-chart__val-line" d={g.valPath} fill="none" />}
      {g.valDots.map((d) => (
        <circle key={d.step} className="loss-chart__val" cx={d.x} cy={d.y} r={compact ? 2 : 4}>
          {!compact && <title>{t("train.chartValPoint", { step: d.step, loss: formatLoss(d.loss) })}</title>}
        </circle>
      ))}
      {g.best && (
        <g className="loss-chart__best" data-testid={compact ? undefined : "train-chart-best"} data-step={g.best.step}>
          <circle cx={g.best.x} cy={g.best.y} r={compact ? 3.5 : 7} />
          {!compact && <title>{t("train.chartBestPoint", { step: g.best.step, loss: formatLoss(g.best.loss) })}</title>}
        </g>
      )}
    </svg>
  );
}

/** The chart's key, in words under it. */
export function ChartLegend() {
  const { t } = useI18n();
  return (
    <ul className="chart-legend">
      <li>
        <span className="chart-legend__swatch chart-legend__swatch--train" aria-hidden="true" />
        {t("train.legendTrain")}
      </li>
      <li>
        <span className="chart-legend__swatch chart-legend__swatch--val" aria-hidden="true" />
        {t("train.legendVal")}
      </li>
      <li>
        <span className="chart-legend__swatch chart-legend__swatch--best" aria-hidden="true" />
        {t("train.legendBest")}
      </li>
    </ul>
  );
}
