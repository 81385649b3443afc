"""`mpkeras tabular TABLE`: evaluate a saved tabular agent, or print its greedy actions (needs the rl extra)."""

import json


def add_parser(sub):
    p = sub.add_parser("tabular", help="load a saved tabular agent (table.npz/.json): evaluate it or act")
    p.add_argument("path", help="a table saved by a tabular recipe, e.g. runs/q_learning/table.npz")
    p.add_argument("--episodes", type=int, default=100, help="seeded evaluation episodes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--state", type=int, nargs="*", default=None, help="print the greedy action in these states")
    return p


def cmd_tabular(args):
    from mpkeras.rl.tabular import load_agent  # here: gymnasium is an extra, the CLI must start without it

    agent = load_agent(args.path)
    if args.state:
        bad = [s for s in args.state if not 0 <= s < agent.n_states]
        if bad:
            raise ValueError(f"States {bad} are out of range: the table has states 0..{agent.n_states - 1}.")
        print(json.dumps({"state": args.state, "action": [agent.act(s) for s in args.state]}))
        return 0
    result = agent.evaluate(agent.make_env(), args.episodes, args.seed)
    result.pop("returns")
    print(json.dumps(dict(algorithm=agent.algorithm, env_id=agent.env_id, env_kwargs=agent.env_kwargs, **result)))
    return 0
