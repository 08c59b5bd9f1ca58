"""The peer side of scripts/bench-backtest: backtesting.py 0.6.6 on the same CSV and strategy.

`gen N FILE`: writes N one-minute OHLCV bars (a seeded random walk) as
`date,open,high,low,close,volume`, the format `zigquant backtest` reads.

`run FILE FAST SLOW QTY CASH FEE`: runs an SMA(FAST)/SMA(SLOW) cross in long-short mode (on a
cross up close any short and buy QTY; on a cross down close any long and sell QTY), market
orders filled at the next bar's open, trades still open at the end closed at the last bar's
open (`finalize_trades=True`): docs/statistics.md §10, which zigquant's backtest reproduces. Prints
one JSON object: the load and run seconds and the closed trades in close order.
"""
import json
import sys
import time

import numpy as np
import pandas as pd


def gen(n, path):
    rng = np.random.default_rng(20261201)
    steps = rng.normal(0.0, 0.001, n)
    close = 100.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate(([100.0], close[:-1])) * (1.0 + rng.normal(0.0, 0.0002, n))
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.0005, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.0005, n)))
    volume = rng.integers(1, 1000, n)
    index = pd.date_range("2020-01-01", periods=n, freq="min")
    df = pd.DataFrame(
        {"open": open_.round(4), "high": high.round(4), "low": low.round(4),
         "close": close.round(4), "volume": volume},
        index=index,
    )
    df.index.name = "date"
    df.to_csv(path, date_format="%Y-%m-%d %H:%M:%S")


def run(path, fast, slow, qty, cash, fee):
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(values, n):
        # The window summed oldest first, then divided by n: the very float operations
        # zigquant's SmaCross does, so near-ties round the same way on both sides (pandas'
        # rolling mean adds and subtracts a running sum, which rounds differently and turns a
        # few near-crosses the other way). Vectorised: n shifted adds, each one sequential.
        values = np.asarray(values, dtype=float)
        out = np.full(len(values), np.nan)
        if len(values) >= n:
            acc = values[: len(values) - n + 1].copy()
            for j in range(1, n):
                acc += values[j: len(values) - n + 1 + j]
            out[n - 1:] = acc / n
        return out

    class SmaCross(Strategy):
        def init(self):
            self.fast = self.I(sma, self.data.Close, fast)
            self.slow = self.I(sma, self.data.Close, slow)

        def next(self):
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy(size=qty)
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell(size=qty)

    t0 = time.perf_counter()
    df = pd.read_csv(path, index_col=0, parse_dates=True)
    df.columns = [c.capitalize() for c in df.columns]
    t1 = time.perf_counter()
    bt = Backtest(df, SmaCross, cash=cash, commission=fee, finalize_trades=True)
    stats = bt.run()
    t2 = time.perf_counter()
    trades = stats["_trades"]
    fmt = "%Y-%m-%d %H:%M:%S"
    out = [
        {
            "side": "long" if size > 0 else "short",
            "qty": abs(float(size)),
            "entry_time": et.strftime(fmt),
            "entry_price": float(ep),
            "exit_time": xt.strftime(fmt),
            "exit_price": float(xp),
            "realized_pnl": float(pnl),
        }
        for size, et, ep, xt, xp, pnl in zip(
            trades["Size"], trades["EntryTime"], trades["EntryPrice"],
            trades["ExitTime"], trades["ExitPrice"], trades["PnL"])
    ]
    json.dump({"load_s": t1 - t0, "run_s": t2 - t1, "trades": out}, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), sys.argv[3])
    else:
        _, _, path, fast, slow, qty, cash, fee = sys.argv
        run(path, int(fast), int(slow), float(qty), float(cash), float(fee))
