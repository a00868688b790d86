"""The matching engine: Russian text, encoders, ОКПД2/ОКВЭД2 classification, the procurement policy, scoring and
explanations. Plain data in, plain data out; import the submodules you need (nothing heavy is loaded here)::

    from matching.classify import CodeClassifier, load_code_entries
    from matching.encoders import make_encoder
    from matching.matcher import Matcher, NeedSpec, OfferSpec
    from matching.policy import ProcurementPolicy
"""
