"""The compiled core: the network simplex and the cost oracles it prices with."""
