import { CandlestickSeries, HistogramSeries, IChartApi, ISeriesApi, UTCTimestamp, createChart } from "lightweight-charts";
import { useEffect, useRef, useState } from "preact/hooks";
import { Kline, klineSink, symbol } from "../store";

const UP = "#26a69a";
const DOWN = "#ef5350";

/** One-minute candles with volume (TradingView lightweight-charts), live from @kline_1m. */
export function Chart() {
  const el = useRef<HTMLDivElement>(null);
  const [last, setLast] = useState<Kline | null>(null);
  const [count, setCount] = useState(0);

  useEffect(() => {
    const chart: IChartApi = createChart(el.current!, {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: "#c9d1d9" },
      grid: { vertLines: { color: "#21262d" }, horzLines: { color: "#21262d" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    const candles: ISeriesApi<"Candlestick"> = chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
    });
    const volume: ISeriesApi<"Histogram"> = chart.addSeries(HistogramSeries, {
      priceFormat: { type: "volume" }, priceScaleId: "volume",
    });
    chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
    let lastTime = 0;
    let n = 0;
    const bar = (k: Kline) => ({ time: k.time as UTCTimestamp, open: k.open, high: k.high, low: k.low, close: k.close });
    const vol = (k: Kline) => ({ time: k.time as UTCTimestamp, value: k.volume, color: k.close >= k.open ? UP + "80" : DOWN + "80" });
    klineSink.reset = (ks) => {
      candles.setData(ks.map(bar));
      volume.setData(ks.map(vol));
      lastTime = ks.length ? ks[ks.length - 1].time : 0;
      n = ks.length;
      setCount(n);
      setLast(ks.length ? ks[ks.length - 1] : null);
      chart.timeScale().scrollToRealTime();
    };
    klineSink.update = (k) => {
      if (k.time < lastTime) return;   // a late candle: the series only moves forward
      if (k.time > lastTime) n += 1;
      lastTime = k.time;
      candles.update(bar(k));
      volume.update(vol(k));
      setCount(n);
      setLast(k);
    };
    return () => {
      klineSink.reset = () => {};
      klineSink.update = () => {};
      chart.remove();
    };
  }, []);

  return (
    <>
      <h2>{symbol.value} · 1m</h2>
      <p class="legend" aria-live="off" data-testid="chart-legend" data-candles={count}>
        {last
          ? <>O <b>{last.open}</b> H <b>{last.high}</b> L <b>{last.low}</b> C <b>{last.close}</b> V <b>{last.volume}</b></>
          : "No trades yet"}
      </p>
      <div class="chart" ref={el} role="img" aria-label={`Candlestick chart of ${symbol.value}, one-minute candles with volume`} />
    </>
  );
}
